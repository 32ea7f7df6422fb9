// Original file: proto/mcpmux/v1/config.proto

export const Protocol = {
  PROTOCOL_UNSPECIFIED: 'PROTOCOL_UNSPECIFIED',
  PROTOCOL_STREAMABLE_HTTP: 'PROTOCOL_STREAMABLE_HTTP',
  PROTOCOL_SSE: 'PROTOCOL_SSE',
  /**
   * Local development only (files source): a command run as a child process.
   */
  PROTOCOL_STDIO: 'PROTOCOL_STDIO',
} as const;

export type Protocol =
  | 'PROTOCOL_UNSPECIFIED'
  | 0
  | 'PROTOCOL_STREAMABLE_HTTP'
  | 1
  | 'PROTOCOL_SSE'
  | 2
  /**
   * Local development only (files source): a command run as a child process.
   */
  | 'PROTOCOL_STDIO'
  | 3

export type Protocol__Output = typeof Protocol[keyof typeof Protocol]
