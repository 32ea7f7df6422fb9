// Original file: proto/mcpmux/v1/admin.proto


/**
 * One field of a resource that differs between two versions.
 */
export interface FieldChange {
  /**
   * Dotted path, e.g. "timeouts.requestMs"; list elements by identity ("endpoints[10.0.0.7:3001].ready",
   * "rules[readers]") or index ("args[2]"); "hostnames[]" for a value added to or removed from a list of values.
   */
  'path'?: (string);
  /**
   * JSON text of the value; empty when the field was added (before) or removed (after).
   */
  'before'?: (string);
  'after'?: (string);
}

/**
 * One field of a resource that differs between two versions.
 */
export interface FieldChange__Output {
  /**
   * Dotted path, e.g. "timeouts.requestMs"; list elements by identity ("endpoints[10.0.0.7:3001].ready",
   * "rules[readers]") or index ("args[2]"); "hostnames[]" for a value added to or removed from a list of values.
   */
  'path': (string);
  /**
   * JSON text of the value; empty when the field was added (before) or removed (after).
   */
  'before': (string);
  'after': (string);
}
