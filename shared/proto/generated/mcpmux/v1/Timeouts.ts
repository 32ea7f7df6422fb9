// Original file: proto/mcpmux/v1/config.proto


export interface Timeouts {
  /**
   * Per request to this target; 0 means the proxy's default.
   */
  'requestMs'?: (number);
  /**
   * For initialize fan-out; 0 means the proxy's default.
   */
  'initializeMs'?: (number);
}

export interface Timeouts__Output {
  /**
   * Per request to this target; 0 means the proxy's default.
   */
  'requestMs': (number);
  /**
   * For initialize fan-out; 0 means the proxy's default.
   */
  'initializeMs': (number);
}
