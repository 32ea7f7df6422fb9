// Original file: proto/mcpmux/v1/config.proto

export const PrefixMode = {
  PREFIX_MODE_UNSPECIFIED: 'PREFIX_MODE_UNSPECIFIED',
  /**
   * Every tool and prompt name is "<target>_<name>" (the tutorial's behaviour).
   */
  PREFIX_MODE_ALWAYS: 'PREFIX_MODE_ALWAYS',
  /**
   * "<target>_<name>" only when the backend has more than one target or names collide.
   */
  PREFIX_MODE_CONDITIONAL: 'PREFIX_MODE_CONDITIONAL',
  /**
   * Names are never prefixed; a name two targets share is refused (left out, with a warning).
   */
  PREFIX_MODE_NEVER: 'PREFIX_MODE_NEVER',
} as const;

export type PrefixMode =
  | 'PREFIX_MODE_UNSPECIFIED'
  | 0
  /**
   * Every tool and prompt name is "<target>_<name>" (the tutorial's behaviour).
   */
  | 'PREFIX_MODE_ALWAYS'
  | 1
  /**
   * "<target>_<name>" only when the backend has more than one target or names collide.
   */
  | 'PREFIX_MODE_CONDITIONAL'
  | 2
  /**
   * Names are never prefixed; a name two targets share is refused (left out, with a warning).
   */
  | 'PREFIX_MODE_NEVER'
  | 3

export type PrefixMode__Output = typeof PrefixMode[keyof typeof PrefixMode]
