// Original file: proto/mcpmux/v1/config.proto


export interface Listener {
  /**
   * The Gateway listener's name, unique in the snapshot.
   */
  'name'?: (string);
  'port'?: (number);
  /**
   * HTTP or HTTPS, as in the Gateway.
   */
  'protocol'?: (string);
  /**
   * Empty means any host. "*.example.com" matches any name ending in ".example.com" (not the bare domain).
   */
  'hostnames'?: (string)[];
  /**
   * HTTPS: names of Secrets holding a PEM certificate chain ("tls.crt") and its private key
   * ("tls.key"), one per certificateRef the listener may use. A name without a Secret in this
   * snapshot did not resolve (the Gateway's listener status says why). An HTTPS listener with no
   * certificate in the snapshot is not served: its TLS handshakes are refused, never served as
   * plain HTTP.
   */
  'certificateSecrets'?: (string)[];
}

export interface Listener__Output {
  /**
   * The Gateway listener's name, unique in the snapshot.
   */
  'name': (string);
  'port': (number);
  /**
   * HTTP or HTTPS, as in the Gateway.
   */
  'protocol': (string);
  /**
   * Empty means any host. "*.example.com" matches any name ending in ".example.com" (not the bare domain).
   */
  'hostnames': (string)[];
  /**
   * HTTPS: names of Secrets holding a PEM certificate chain ("tls.crt") and its private key
   * ("tls.key"), one per certificateRef the listener may use. A name without a Secret in this
   * snapshot did not resolve (the Gateway's listener status says why). An HTTPS listener with no
   * certificate in the snapshot is not served: its TLS handshakes are refused, never served as
   * plain HTTP.
   */
  'certificateSecrets': (string)[];
}
