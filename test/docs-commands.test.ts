// The commands our docs tell users to type stay true: every `mcpmux …` line in a shell block of
// README.md and docs/ parses against that subcommand's flags (an unknown or misspelled flag fails
// here, not on a user's terminal), every `npm run X` names a script of package.json, and every
// file or folder a command names exists. What the commands then do is run by other tests
// (grpcurl-docs, client-docs, cli, fleet, kube-tutorial); this one catches drift between them and
// the CLI.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseCommandArgs } from '../shared/cli/command.ts';
import { loadSubcommand, SUBCOMMANDS } from '../shared/cli/subcommands.ts';
import { ROOT } from './support/processes.ts';

function docs(): string[] {
  const files = ['README.md'];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.md')) files.push(path);
    }
  };
  walk('docs');
  return files;
}

/** Shell lines of ```sh / ```bash / ```console blocks: continuations joined, prompts and comments dropped. */
function shellLines(text: string): string[] {
  const lines: string[] = [];
  for (const block of text.matchAll(/```(?:sh|bash|console|shell)[^\n]*\n([\s\S]*?)```/g)) {
    const joined = (block[1] ?? '').replace(/\\\n\s*/g, ' ');
    for (let line of joined.split('\n')) {
      line = line.replace(/^\$ /, '').replace(/\s+#.*$/, '').replace(/\s*&$/, '').trim();
      if (line && !line.startsWith('#')) lines.push(line);
    }
  }
  return lines;
}

/** Words of a command line: quotes kept together, a `$(…)` or a pipe ends it. */
function words(line: string): string[] {
  const cut = line.split(/\s\|\s|\$\(/)[0] ?? line;
  return [...cut.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');
}

const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

test('every mcpmux command in the docs parses against its subcommand; npm scripts and named paths exist', async () => {
  let checked = 0;
  const problems: string[] = [];
  for (const file of docs()) {
    for (const line of shellLines(readFileSync(join(ROOT, file), 'utf8'))) {
      const argv = words(line);
      const at = argv.findIndex((w, i) => w === 'mcpmux' || (w === 'shared/cli/mcpmux.ts' && argv[i - 1] === 'node'));
      if (argv[0] === 'npm' && argv[1] === 'run') {
        checked++;
        if (!(String(argv[2]) in scripts)) problems.push(`${file}: npm run ${argv[2]}: no such script`);
        continue;
      }
      if (at === -1 || (argv[0] !== 'mcpmux' && argv[0] !== 'npx' && argv[0] !== 'node')) continue;
      const [name, ...rest] = argv.slice(at + 1);
      if (name === undefined || name === '--version' || name === '--help') continue;
      const entry = SUBCOMMANDS[name];
      checked++;
      if (!entry) {
        problems.push(`${file}: ${line}: no subcommand ${name}`);
        continue;
      }
      try {
        const { positionals } = parseCommandArgs(await loadSubcommand(entry), rest, {});
        // A folder or file named in the repo must be there (validate DIR, --dir DIR).
        const dir = rest[rest.indexOf('--dir') + 1];
        for (const path of [...(name === 'validate' ? positionals : []), ...(rest.includes('--dir') && dir ? [dir] : [])]) {
          if (!path.startsWith('$') && !path.startsWith('/') && !existsSync(join(ROOT, path))) problems.push(`${file}: ${line}: ${path} does not exist`);
        }
      } catch (error) {
        problems.push(`${file}: ${line}: ${(error as Error).message.split('\n')[0]}`);
      }
    }
  }
  assert.ok(checked >= 20, `the docs' commands were found (${checked})`);
  assert.equal(problems, [], problems.join('\n'));
});

test.run();
