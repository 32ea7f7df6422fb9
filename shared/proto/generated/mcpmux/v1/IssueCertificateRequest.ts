// Original file: proto/mcpmux/v1/certificates.proto


export interface IssueCertificateRequest {
  /**
   * NAMESPACE/NAME of the Gateway the proxy serves; its token's ServiceAccount must be that
   * Gateway's proxy ServiceAccount.
   */
  'gateway'?: (string);
  /**
   * PEM PKCS#10 request signed by the proxy's new key: only its public key is used.
   */
  'csr'?: (string);
}

export interface IssueCertificateRequest__Output {
  /**
   * NAMESPACE/NAME of the Gateway the proxy serves; its token's ServiceAccount must be that
   * Gateway's proxy ServiceAccount.
   */
  'gateway': (string);
  /**
   * PEM PKCS#10 request signed by the proxy's new key: only its public key is used.
   */
  'csr': (string);
}
