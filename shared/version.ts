import { readFileSync } from 'node:fs';

/** mcpmux's version, from package.json (read once). */
export const MCPMUX_VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
