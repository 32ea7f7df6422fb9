// Original file: proto/mcpmux/v1/config.proto


export interface AccessRule {
  'name'?: (string);
  /**
   * "allow" or "deny".
   */
  'effect'?: (string);
  /**
   * The principal matches when any listed value matches (its JWT sub or API key name; a group in
   * its groups claim; a scope in its scope/scp claim). All three empty: every principal.
   */
  'subjects'?: (string)[];
  'groups'?: (string)[];
  'scopes'?: (string)[];
  /**
   * Globs over tool names as clients see them (target_tool), and over target names (all of a
   * target's tools, prompts and resources). Both empty: everything.
   */
  'tools'?: (string)[];
  'targets'?: (string)[];
}

export interface AccessRule__Output {
  'name': (string);
  /**
   * "allow" or "deny".
   */
  'effect': (string);
  /**
   * The principal matches when any listed value matches (its JWT sub or API key name; a group in
   * its groups claim; a scope in its scope/scp claim). All three empty: every principal.
   */
  'subjects': (string)[];
  'groups': (string)[];
  'scopes': (string)[];
  /**
   * Globs over tool names as clients see them (target_tool), and over target names (all of a
   * target's tools, prompts and resources). Both empty: everything.
   */
  'tools': (string)[];
  'targets': (string)[];
}
