// Names the CLI and the control plane need without loading the X.509 code (about 100 ms of
// module loading at every start, for a control plane that may run without its own CA).

/** The Secret, in the control plane's namespace, that holds its CA. */
export const DEFAULT_CA_SECRET = 'mcpmux-ca';
