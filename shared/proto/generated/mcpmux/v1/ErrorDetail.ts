// Original file: proto/mcpmux/v1/discovery.proto


export interface ErrorDetail {
  /**
   * A stable code such as MCPMUX_CONFIG_INVALID.
   */
  'code'?: (string);
  'message'?: (string);
}

export interface ErrorDetail__Output {
  /**
   * A stable code such as MCPMUX_CONFIG_INVALID.
   */
  'code': (string);
  'message': (string);
}
