// Original file: proto/mcpmux/v1/config.proto

export const FailureMode = {
  FAILURE_MODE_UNSPECIFIED: 'FAILURE_MODE_UNSPECIFIED',
  /**
   * A failing target is left out; the session goes on with the others.
   */
  FAILURE_MODE_OPEN: 'FAILURE_MODE_OPEN',
  /**
   * A failing target fails the request.
   */
  FAILURE_MODE_CLOSED: 'FAILURE_MODE_CLOSED',
} as const;

export type FailureMode =
  | 'FAILURE_MODE_UNSPECIFIED'
  | 0
  /**
   * A failing target is left out; the session goes on with the others.
   */
  | 'FAILURE_MODE_OPEN'
  | 1
  /**
   * A failing target fails the request.
   */
  | 'FAILURE_MODE_CLOSED'
  | 2

export type FailureMode__Output = typeof FailureMode[keyof typeof FailureMode]
