#!/usr/bin/env node
// The mcpmux executable: package.json's "bin" (npx mcpmux), `npm start` and the image's entrypoint.
// mcpmux runs its TypeScript sources as they are, which Node does from 22.18 on; an older Node
// cannot even load a .ts file and would die with a raw ERR_UNKNOWN_FILE_EXTENSION. So this file is
// plain JavaScript (nothing here may need a newer Node than the ones it turns away): it checks the
// Node that runs it, says what to install if it cannot run mcpmux, and only then loads the CLI.
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const REQUIRED = '22.18';

/** Why this Node cannot run mcpmux, or undefined when it can. */
function unsupported() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  const [needMajor, needMinor] = REQUIRED.split('.').map(Number);
  if (major < needMajor || (major === needMajor && minor < needMinor)) return `this is Node.js ${process.version}`;
  // 23.0 to 23.5 strip types only when asked; any Node strips none with --no-experimental-strip-types.
  if (process.features && process.features.typescript === false) {
    return `this Node.js ${process.version} does not run TypeScript files (type stripping is off: left out by default before 23.6, or turned off with --no-experimental-strip-types)`;
  }
  return undefined;
}

/** This very command again, for a shell (arguments with spaces or quotes quoted). */
function again() {
  const quote = (word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);
  return [fileURLToPath(import.meta.url), ...process.argv.slice(2)].map(quote).join(' ');
}

const reason = unsupported();
if (reason !== undefined) {
  process.stderr.write(
    [
      `mcpmux needs Node.js ${REQUIRED} or newer, which runs its TypeScript sources as they are; ${reason} (${process.execPath}).`,
      '',
      'Install Node.js 22 (or newer), in any of these ways, then run the command again:',
      '  nvm install 22 && nvm use 22        with nvm (https://github.com/nvm-sh/nvm)',
      '  npm install -g node@22              the node@22 package from npm: puts Node 22 first in npm\'s global bin',
      '  https://nodejs.org/en/download      the installer or a package manager (the LTS line is fine)',
      'Or, without installing anything, run it once with the node@22 npm package:',
      `  npx -y node@22 ${again()}`,
      '',
    ].join('\n'),
  );
  process.exit(1);
}

await import('./mcpmux.ts');
