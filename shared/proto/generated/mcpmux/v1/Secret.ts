// Original file: proto/mcpmux/v1/config.proto


export interface Secret {
  'name'?: (string);
  /**
   * Values are never shown by the admin API.
   */
  'data'?: ({[key: string]: string});
}

export interface Secret__Output {
  'name': (string);
  /**
   * Values are never shown by the admin API.
   */
  'data': ({[key: string]: string});
}
