// Original file: proto/mcpmux/v1/certificates.proto

import type { MethodDefinition } from '@grpc/proto-loader'
import type { IssueCertificateRequest as _mcpmux_v1_IssueCertificateRequest, IssueCertificateRequest__Output as _mcpmux_v1_IssueCertificateRequest__Output } from '../../mcpmux/v1/IssueCertificateRequest.ts';
import type { IssueCertificateResponse as _mcpmux_v1_IssueCertificateResponse, IssueCertificateResponse__Output as _mcpmux_v1_IssueCertificateResponse__Output } from '../../mcpmux/v1/IssueCertificateResponse.ts';

export interface CertificateServiceDefinition {
  IssueCertificate: MethodDefinition<_mcpmux_v1_IssueCertificateRequest, _mcpmux_v1_IssueCertificateResponse, _mcpmux_v1_IssueCertificateRequest__Output, _mcpmux_v1_IssueCertificateResponse__Output>
}
