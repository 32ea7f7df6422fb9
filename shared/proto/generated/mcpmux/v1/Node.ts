// Original file: proto/mcpmux/v1/discovery.proto


export interface Node {
  /**
   * Unique per proxy replica.
   */
  'id'?: (string);
  /**
   * Free-form facts about the proxy (version, hostname).
   */
  'metadata'?: ({[key: string]: string});
}

export interface Node__Output {
  /**
   * Unique per proxy replica.
   */
  'id': (string);
  /**
   * Free-form facts about the proxy (version, hostname).
   */
  'metadata': ({[key: string]: string});
}
