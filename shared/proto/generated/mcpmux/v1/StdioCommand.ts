// Original file: proto/mcpmux/v1/config.proto


export interface StdioCommand {
  /**
   * The executable: a name looked up on the proxy's PATH, or a path.
   */
  'command'?: (string);
  'args'?: (string)[];
  /**
   * Added to the proxy's own environment.
   */
  'env'?: ({[key: string]: string});
  /**
   * Working directory; empty means the proxy's.
   */
  'cwd'?: (string);
}

export interface StdioCommand__Output {
  /**
   * The executable: a name looked up on the proxy's PATH, or a path.
   */
  'command': (string);
  'args': (string)[];
  /**
   * Added to the proxy's own environment.
   */
  'env': ({[key: string]: string});
  /**
   * Working directory; empty means the proxy's.
   */
  'cwd': (string);
}
