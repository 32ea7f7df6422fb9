// .dockerignore, matched as Docker matches it (moby/patternmatcher): which files of a folder go into
// a build context. test/dockerfile.test.ts checks deploy/Dockerfile's COPYs against it, and
// deploy/image/build.ts hashes exactly the files a build sees, so an edit to a test file (left out of
// the context) does not rebuild the image.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';

export interface IgnoreRule {
  pattern: string;
  regex: RegExp;
  exclusion: boolean;
}

function compilePattern(pattern: string): RegExp {
  let source = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*' && pattern[i + 1] === '*') {
      i++;
      if (pattern[i + 1] === '/') i++;
      source += i + 1 >= pattern.length ? '.*' : '(.*/)?';
    } else if (ch === '*') source += '[^/]*';
    else if (ch === '?') source += '[^/]';
    else if (ch === '\\') source += i + 1 < pattern.length ? `\\${pattern[++i]}` : '\\\\';
    else if (ch === '[' || ch === ']') source += ch;
    else source += ch.replace(/[.+^${}()|]/g, '\\$&');
  }
  return new RegExp(`${source}$`);
}

export function parseDockerignore(text: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const raw of text.split('\n')) {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const exclusion = line.startsWith('!');
    if (exclusion) line = line.slice(1).trim();
    // filepath.Clean, then a leading "/" dropped: patterns are relative to the context root.
    let pattern = posix.normalize(line).replace(/\/+$/, '');
    if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
    rules.push({ pattern, regex: compilePattern(pattern), exclusion });
  }
  return rules;
}

/** Whether Docker leaves `file` (relative to the context, "/"-separated) out of the build context. */
export function ignored(rules: readonly IgnoreRule[], file: string): boolean {
  const parents = posix.dirname(file) === '.' ? [] : posix.dirname(file).split('/');
  let matched = false;
  for (const rule of rules) {
    if (rule.exclusion !== matched) continue;
    let match = rule.regex.test(file);
    for (let i = 0; !match && i < parents.length; i++) match = rule.regex.test(parents.slice(0, i + 1).join('/'));
    if (match) matched = !rule.exclusion;
  }
  return matched;
}

/**
 * The files of `root` a build context holds under `rules`, relative and "/"-separated, sorted. A
 * folder the rules leave out is not walked unless an exclusion (`!…`) could let something inside it
 * back in: node_modules and .git are never read.
 */
export function contextFiles(root: string, rules: readonly IgnoreRule[]): string[] {
  const exclusions = rules.filter((r) => r.exclusion).map((r) => r.pattern);
  const mayReinclude = (dir: string): boolean => exclusions.some((p) => /[*?[\\]/.test(p) || p.startsWith(`${dir}/`));
  const found: string[] = [];
  const walk = (relative: string): void => {
    for (const entry of readdirSync(join(root, relative), { withFileTypes: true })) {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!ignored(rules, path) || mayReinclude(path)) walk(path);
      } else if ((entry.isFile() || entry.isSymbolicLink()) && !ignored(rules, path)) {
        found.push(path);
      }
    }
  };
  walk('');
  return found.sort();
}

/** The rules of `root`/.dockerignore (none when there is no such file). */
export function readDockerignore(root: string): IgnoreRule[] {
  try {
    if (!statSync(join(root, '.dockerignore')).isFile()) return [];
  } catch {
    return [];
  }
  return parseDockerignore(readFileSync(join(root, '.dockerignore'), 'utf8'));
}
