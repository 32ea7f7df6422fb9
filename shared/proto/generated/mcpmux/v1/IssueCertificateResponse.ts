// Original file: proto/mcpmux/v1/certificates.proto

import type { Long } from '@grpc/proto-loader';

export interface IssueCertificateResponse {
  /**
   * PEM certificate for the CSR's key.
   */
  'certificate'?: (string);
  /**
   * PEM bundle of every CA the control plane trusts now (more than one during a CA rotation):
   * the proxy checks the control plane's certificate against it from now on.
   */
  'caBundle'?: (string);
  /**
   * When the certificate expires, milliseconds since the epoch.
   */
  'notAfterMs'?: (number | string | Long);
}

export interface IssueCertificateResponse__Output {
  /**
   * PEM certificate for the CSR's key.
   */
  'certificate': (string);
  /**
   * PEM bundle of every CA the control plane trusts now (more than one during a CA rotation):
   * the proxy checks the control plane's certificate against it from now on.
   */
  'caBundle': (string);
  /**
   * When the certificate expires, milliseconds since the epoch.
   */
  'notAfterMs': (string);
}
