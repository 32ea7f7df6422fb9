// Original file: proto/mcpmux/v1/config.proto


export interface ApiKey {
  /**
   * Who presents it (the Secret's data key).
   */
  'principal'?: (string);
  /**
   * Lower-case hex sha256 of the key.
   */
  'sha256'?: (string);
}

export interface ApiKey__Output {
  /**
   * Who presents it (the Secret's data key).
   */
  'principal': (string);
  /**
   * Lower-case hex sha256 of the key.
   */
  'sha256': (string);
}
