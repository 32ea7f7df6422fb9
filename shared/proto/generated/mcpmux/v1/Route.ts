// Original file: proto/mcpmux/v1/config.proto


export interface Route {
  /**
   * "<namespace>/<httproute name>/<rule index>/<match index>", unique in the snapshot.
   */
  'name'?: (string);
  /**
   * Listener names this route attaches to.
   */
  'listeners'?: (string)[];
  /**
   * Path prefix served: P serves streamable HTTP (and legacy SSE), P/message legacy POSTs.
   */
  'pathPrefix'?: (string);
  /**
   * Name of the backend it routes to.
   */
  'backend'?: (string);
  /**
   * The hostnames it serves: the HTTPRoute's spec.hostnames as intersected with its listeners'
   * (Gateway API). Empty means any host its listeners take.
   */
  'hostnames'?: (string)[];
}

export interface Route__Output {
  /**
   * "<namespace>/<httproute name>/<rule index>/<match index>", unique in the snapshot.
   */
  'name': (string);
  /**
   * Listener names this route attaches to.
   */
  'listeners': (string)[];
  /**
   * Path prefix served: P serves streamable HTTP (and legacy SSE), P/message legacy POSTs.
   */
  'pathPrefix': (string);
  /**
   * Name of the backend it routes to.
   */
  'backend': (string);
  /**
   * The hostnames it serves: the HTTPRoute's spec.hostnames as intersected with its listeners'
   * (Gateway API). Empty means any host its listeners take.
   */
  'hostnames': (string)[];
}
