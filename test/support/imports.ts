// The import graph of the repository's own TypeScript, read from the source text: what each file
// imports (value imports only: `import type` is erased and ties nothing at run time), relative
// specifiers resolved to files. For the layering rules (test/layering.test.ts).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

export interface ImportEdge {
  /** The specifier as written. */
  specifier: string;
  /** The file it names, for a relative specifier; undefined for a package or a node: module. */
  file: string | undefined;
  line: number;
}

/** Production TypeScript files under `folder` (no tests, no test fixtures), as absolute paths. */
export function productionFiles(root: string, folder: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && entry.name !== 'testdata' && entry.name !== 'testing') walk(path);
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts')) {
        out.push(path);
      }
    }
  };
  walk(join(root, folder));
  return out.sort();
}

// `import x from '…'`, `import { a, type B } from '…'`, `export … from '…'`, `import '…'`, `import('…')`;
// statements may span lines. `import type …` and `export type … from` are left out.
const STATIC = /^(import|export)\s+(?!type\s)([^;]*?)\s*from\s*['"]([^'"]+)['"]|^import\s+['"]([^'"]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The value imports of one file. */
export function importsOf(file: string): ImportEdge[] {
  const text = readFileSync(file, 'utf8');
  const edges: ImportEdge[] = [];
  const add = (specifier: string, index: number): void => {
    const line = text.slice(0, index).split('\n').length;
    edges.push({ specifier, file: specifier.startsWith('.') ? resolve(dirname(file), specifier) : undefined, line });
  };
  for (const match of text.matchAll(STATIC)) {
    const clause = match[2] ?? '';
    // `import { type A, type B } from` imports nothing at run time either.
    if (match[1] === 'import' && /^\{[^}]*\}$/.test(clause) && clause.slice(1, -1).split(',').every((part) => part.trim() === '' || part.trim().startsWith('type '))) continue;
    add((match[3] ?? match[4]) as string, match.index);
  }
  for (const match of text.matchAll(DYNAMIC)) add(match[1] as string, match.index);
  return edges;
}

/** `file` as a path relative to the repository, with forward slashes. */
export function repoPath(root: string, file: string): string {
  return relative(root, file).split(sep).join('/');
}

/** Every repository file `start` reaches through value imports, with the chain that reaches it. */
export function closure(start: readonly string[]): Map<string, string[]> {
  const reached = new Map<string, string[]>();
  const queue: Array<[string, string[]]> = start.map((file) => [file, [file]]);
  while (queue.length > 0) {
    const [file, chain] = queue.shift() as [string, string[]];
    if (reached.has(file)) continue;
    reached.set(file, chain);
    for (const edge of importsOf(file)) if (edge.file && edge.file.endsWith('.ts') && !reached.has(edge.file)) queue.push([edge.file, [...chain, edge.file]]);
  }
  return reached;
}
