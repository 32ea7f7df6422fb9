// Finds code in the repository's source folders that reads a path outside the repository. On a
// developer's machine a folder beside the checkout (a handbook, a sibling clone) may exist; in a
// user's clone it does not, so whatever reads it fails there and nowhere else.
//
// Static, and precise rather than a grep: TypeScript's parser and checker follow each path expression
// to where it starts (the module's own location: import.meta.url, import.meta.dirname, __dirname;
// process.cwd(), which is the repository root when the tests run; or a constant built from those,
// across modules and re-exports) and through what builds it (template literals, +, path.join/resolve/
// dirname, new URL(relative, base), fileURLToPath/pathToFileURL). A path so anchored that ends above
// the repository root is reported; so is a relative module specifier that leaves it, a relative
// literal handed to a node:fs function or used as a `cwd` (both resolve against the working
// directory, the repository root), and any mention, outside comments, of the handbook's folder or
// file names. Paths from elsewhere (tmpdir(), $HOME, arguments) are not the repository's business.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, posix, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

/** The folders whose files must not reach outside the repository. */
export const SOURCE_FOLDERS = ['test', 'control-plane', 'proxy', 'shared', 'deploy'] as const;

/**
 * The team handbook kept beside the repository on developers' machines (its reference folder and
 * the tutorial manifests that used to be read from there): named anywhere but in a comment, it is
 * being read. A regular expression, so that this file does not name them in a string itself.
 */
export const HANDBOOK_NAMES = /\bshared[\\/]+reference\b|\bseed-manifests\b/;

export interface Finding {
  /** Relative to the scanned root, with forward slashes. */
  file: string;
  line: number;
  /** The offending source text (its first line, trimmed). */
  text: string;
  why: string;
}

const SCRIPT_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs']);
/** Text files whose non-comment lines are checked for the handbook's names. */
const TEXT_EXTENSIONS = new Set(['.yaml', '.yml', '.json', '.py', '.sh', '.txt', '.tpl', '.mod', '.toml', '.cfg', '.ini', '.env']);
const TEXT_NAMES = new Set(['Dockerfile', '.helmignore', '.dockerignore']);

const NODE_PATH = new Set(['node:path', 'path', 'node:path/posix', 'path/posix']);
const NODE_URL = new Set(['node:url', 'url']);
const NODE_FS = new Set(['node:fs', 'fs', 'node:fs/promises', 'fs/promises']);
/** node:fs functions whose first argument is a path that is read (or listed, or watched, or copied from). */
const FS_READS = new Set([
  'readFileSync', 'readFile', 'existsSync', 'statSync', 'stat', 'lstatSync', 'lstat', 'readdirSync', 'readdir',
  'opendirSync', 'opendir', 'createReadStream', 'accessSync', 'access', 'openSync', 'open', 'realpathSync', 'realpath',
  'readlinkSync', 'readlink', 'watch', 'watchFile', 'copyFileSync', 'copyFile', 'cpSync', 'cp', 'globSync', 'glob',
]);

// ---------------------------------------------------------------------------------------------
// Which files

/** Plain entries of the root .gitignore ("results/", "test/bench/results/"): not in a clone, not scanned. */
function ignoredPaths(root: string): { names: Set<string>; paths: Set<string> } {
  const names = new Set<string>();
  const paths = new Set<string>();
  const file = join(root, '.gitignore');
  if (!existsSync(file)) return { names, paths };
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim().replace(/\/$/, '');
    if (!line || line.startsWith('#') || line.startsWith('!') || /[*?[\]]/.test(line)) continue;
    if (line.includes('/')) paths.add(line.replace(/^\//, ''));
    else names.add(line);
  }
  return { names, paths };
}

/** Every file under the source folders (no node_modules, no dot folders, nothing .gitignore names). */
export function sourceFiles(root: string, folders: readonly string[] = SOURCE_FOLDERS): string[] {
  const ignored = ignoredPaths(root);
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir).sort()) {
      const path = join(dir, entry);
      const rel = relative(root, path).split('\\').join('/');
      if (entry === 'node_modules' || ignored.names.has(entry) || ignored.paths.has(rel)) continue;
      const stats = statSync(path);
      if (stats.isDirectory()) {
        if (!entry.startsWith('.')) walk(path);
      } else if (stats.isFile()) {
        files.push(path);
      }
    }
  };
  for (const folder of folders) if (existsSync(join(root, folder))) walk(join(root, folder));
  return files;
}

// ---------------------------------------------------------------------------------------------
// Path values

/**
 * What a path expression is known to be. `text`: literal text, anchored nowhere; `path` and `url`: a
 * file-system path or file: URL anchored at a file's location (or the working directory). `complete`
 * false: only a prefix is known (the rest is computed at run time).
 */
type Value =
  | { kind: 'text'; text: string; complete: boolean }
  | { kind: 'path'; path: string; complete: boolean }
  | { kind: 'url'; url: string; complete: boolean }
  | undefined;

const text = (value: string, complete = true): Value => ({ kind: 'text', text: value, complete });

function concat(a: Value, b: Value): Value {
  if (!a || !a.complete) return a;
  if (!b) return { ...a, complete: false };
  if (a.kind === 'text') {
    if (b.kind === 'text') return text(a.text + b.text, b.complete);
    return a.text === '' ? b : undefined;
  }
  if (b.kind !== 'text') return undefined;
  return a.kind === 'path' ? { kind: 'path', path: a.path + b.text, complete: b.complete } : { kind: 'url', url: a.url + b.text, complete: b.complete };
}

/** The part of a string known for sure to be a folder path: up to the last "/" (a partial last segment that is ".." climbs). */
function knownPrefix(value: string, complete: boolean): string {
  if (complete) return value;
  const cut = value.lastIndexOf('/');
  const rest = value.slice(cut + 1);
  return rest === '..' ? value : value.slice(0, cut + 1);
}

/** The absolute path an anchored value stands for, as far as it is known; undefined for text or non-file URLs. */
function pathOf(value: Value): string | undefined {
  if (!value || value.kind === 'text') return undefined;
  if (value.kind === 'path') return resolve(knownPrefix(value.path, value.complete));
  try {
    const url = new URL(knownPrefix(value.url, value.complete));
    return url.protocol === 'file:' ? resolve(fileURLToPath(url)) : undefined;
  } catch {
    return undefined;
  }
}

const inside = (root: string, path: string): boolean => path === root || path.startsWith(root.endsWith('/') ? root : `${root}/`);

// ---------------------------------------------------------------------------------------------
// The scan

interface Context {
  root: string;
  program: ts.Program;
  checker: ts.TypeChecker;
  memo: Map<ts.Node, Value>;
  active: Set<ts.Node>;
}

function unwrap(node: ts.Expression): ts.Expression {
  while (ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isNonNullExpression(node) || ts.isSatisfiesExpression(node) || ts.isTypeAssertionExpression(node)) {
    node = node.expression;
  }
  return node;
}

/** The declaration an identifier stands for, through imports and re-exports. */
function declarationOf(ctx: Context, id: ts.Identifier): ts.Declaration | undefined {
  let symbol = ctx.checker.getSymbolAtLocation(id);
  if (!symbol) return undefined;
  if (symbol.flags & ts.SymbolFlags.Alias) {
    try {
      symbol = ctx.checker.getAliasedSymbol(symbol);
    } catch {
      return undefined;
    }
  }
  return symbol.valueDeclaration ?? symbol.declarations?.[0];
}

/** Which module an imported name comes from, and its name there: { module: 'node:path', name: 'join' }. */
function importOf(ctx: Context, id: ts.Identifier): { module: string; name: string } | undefined {
  const symbol = ctx.checker.getSymbolAtLocation(id);
  const declaration = symbol?.declarations?.[0];
  if (!declaration) return undefined;
  const moduleOf = (node: ts.Node): string | undefined => {
    for (let at: ts.Node | undefined = node; at; at = at.parent) {
      if (ts.isImportDeclaration(at) && ts.isStringLiteral(at.moduleSpecifier)) return at.moduleSpecifier.text;
    }
    return undefined;
  };
  if (ts.isImportSpecifier(declaration)) {
    const module = moduleOf(declaration);
    return module ? { module, name: (declaration.propertyName ?? declaration.name).text } : undefined;
  }
  if (ts.isNamespaceImport(declaration) || ts.isImportClause(declaration)) {
    const module = moduleOf(declaration);
    return module ? { module, name: '*' } : undefined;
  }
  return undefined;
}

/** The node:path / node:url / node:fs function a call's callee names ("join", "fileURLToPath"), if it is one. */
function builtinCallee(ctx: Context, callee: ts.Expression): { module: 'path' | 'url' | 'fs'; name: string } | undefined {
  const classify = (module: string): 'path' | 'url' | 'fs' | undefined =>
    NODE_PATH.has(module) ? 'path' : NODE_URL.has(module) ? 'url' : NODE_FS.has(module) ? 'fs' : undefined;
  callee = unwrap(callee);
  if (ts.isIdentifier(callee)) {
    const found = importOf(ctx, callee);
    const module = found && found.name !== '*' ? classify(found.module) : undefined;
    return module && found ? { module, name: found.name } : undefined;
  }
  if (ts.isPropertyAccessExpression(callee)) {
    let object = unwrap(callee.expression);
    // path.posix.join(...)
    if (ts.isPropertyAccessExpression(object) && (object.name.text === 'posix' || object.name.text === 'promises')) object = unwrap(object.expression);
    if (!ts.isIdentifier(object)) return undefined;
    const found = importOf(ctx, object);
    const module = found ? classify(found.module) : undefined;
    if (!module || !found) return undefined;
    if (found.name === '*' || found.name === 'posix' || found.name === 'promises' || found.name === 'default') return { module, name: callee.name.text };
  }
  return undefined;
}

function isImportMeta(node: ts.Expression, name: string): boolean {
  return ts.isPropertyAccessExpression(node) && node.name.text === name && ts.isMetaProperty(node.expression) && node.expression.keywordToken === ts.SyntaxKind.ImportKeyword;
}

function evaluate(ctx: Context, node: ts.Expression): Value {
  node = unwrap(node);
  const cached = ctx.memo.get(node);
  if (cached !== undefined || ctx.memo.has(node)) return cached;
  if (ctx.active.has(node)) return undefined; // a cycle
  ctx.active.add(node);
  let value: Value;
  try {
    value = compute(ctx, node);
  } finally {
    ctx.active.delete(node);
  }
  ctx.memo.set(node, value);
  return value;
}

function compute(ctx: Context, node: ts.Expression): Value {
  const file = node.getSourceFile().fileName;
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return text(node.text);
  if (ts.isTemplateExpression(node)) {
    let value = text(node.head.text);
    for (const span of node.templateSpans) value = concat(concat(value, evaluate(ctx, span.expression)), text(span.literal.text));
    return value;
  }
  if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken) return concat(evaluate(ctx, node.left), evaluate(ctx, node.right));
  if (isImportMeta(node, 'url')) return { kind: 'url', url: pathToFileURL(file).href, complete: true };
  if (isImportMeta(node, 'filename')) return { kind: 'path', path: file, complete: true };
  if (isImportMeta(node, 'dirname')) return { kind: 'path', path: dirname(file), complete: true };
  if (ts.isIdentifier(node)) {
    if (node.text === '__dirname' || node.text === '__filename') {
      if (!ctx.checker.getSymbolAtLocation(node)?.valueDeclaration) return { kind: 'path', path: node.text === '__dirname' ? dirname(file) : file, complete: true };
    }
    const declaration = declarationOf(ctx, node);
    if (declaration && ts.isVariableDeclaration(declaration) && declaration.initializer && ts.isVariableDeclarationList(declaration.parent) && declaration.parent.flags & ts.NodeFlags.Const) {
      return evaluate(ctx, declaration.initializer);
    }
    return undefined;
  }
  if (ts.isPropertyAccessExpression(node)) {
    const object = evaluate(ctx, node.expression);
    if (object?.kind === 'url' && node.name.text === 'href') return object;
    if (object?.kind === 'url' && node.name.text === 'pathname' && object.complete) return { kind: 'path', path: fileURLToPath(object.url), complete: true };
    return undefined;
  }
  if (ts.isNewExpression(node)) {
    const callee = unwrap(node.expression);
    if (!ts.isIdentifier(callee) || callee.text !== 'URL' || !node.arguments || node.arguments.length !== 2) return undefined;
    return newUrl(evaluate(ctx, node.arguments[0]!), evaluate(ctx, node.arguments[1]!));
  }
  if (ts.isCallExpression(node)) {
    const callee = unwrap(node.expression);
    // process.cwd(): the repository root when the tests run (and the scripts say to run from there).
    if (ts.isPropertyAccessExpression(callee) && callee.name.text === 'cwd' && ts.isIdentifier(callee.expression) && callee.expression.text === 'process') {
      return { kind: 'path', path: ctx.root, complete: true };
    }
    const builtin = builtinCallee(ctx, callee);
    if (!builtin) return undefined;
    const args = node.arguments.map((arg) => (ts.isSpreadElement(arg) ? undefined : evaluate(ctx, arg)));
    if (builtin.module === 'url') {
      const [first] = args;
      if (builtin.name === 'fileURLToPath') return first?.kind === 'url' ? { kind: 'path', path: first.complete ? fileURLToPath(first.url) : first.url.replace(/^file:\/\//, ''), complete: first.complete } : undefined;
      if (builtin.name === 'pathToFileURL') return first?.kind === 'path' && first.complete ? { kind: 'url', url: fileUrl(first.path), complete: true } : undefined;
      return undefined;
    }
    if (builtin.module === 'path') return pathCall(ctx, builtin.name, args);
  }
  return undefined;
}

/** A file: URL for a path, keeping a trailing slash (a folder, which relative URLs resolve inside). */
function fileUrl(path: string): string {
  const href = pathToFileURL(path).href;
  return path.endsWith('/') && !href.endsWith('/') ? `${href}/` : href;
}

function newUrl(spec: Value, base: Value): Value {
  if (!spec || spec.kind !== 'text' || !base) return undefined;
  if (/^[a-z][a-z0-9+.-]*:/i.test(spec.text)) return undefined; // an absolute URL: anchored elsewhere
  const baseUrl = base.kind === 'url' ? base : base.kind === 'path' ? { kind: 'url' as const, url: fileUrl(base.path), complete: base.complete } : undefined;
  if (!baseUrl || !baseUrl.complete) return undefined;
  const known = knownPrefix(spec.text, spec.complete);
  try {
    const url = new URL(known, baseUrl.url).href;
    return { kind: 'url', url: spec.complete ? url : url.endsWith('/') ? url : `${url}/`, complete: spec.complete };
  } catch {
    return undefined;
  }
}

function pathCall(ctx: Context, name: string, args: Value[]): Value {
  if (name === 'dirname') {
    const [first] = args;
    return first?.kind === 'path' && first.complete ? { kind: 'path', path: dirname(first.path), complete: true } : undefined;
  }
  if (name !== 'join' && name !== 'resolve') return undefined;
  let base: string;
  let rest: Value[];
  if (name === 'join') {
    const [first, ...others] = args;
    if (first?.kind !== 'path') return undefined; // text or unknown: not anchored here
    if (!first.complete) return first;
    [base, rest] = [first.path, others];
  } else {
    // resolve() starts at its last absolute argument, else at the working directory.
    let start = -1;
    for (let i = args.length - 1; i >= 0 && start < 0; i--) {
      const arg = args[i];
      if (!arg || arg.kind === 'url') return undefined; // unknown: it may be absolute
      if (arg.kind === 'path' || posix.isAbsolute(arg.text)) start = i;
    }
    const first = start >= 0 ? args[start] : undefined;
    if (first?.kind === 'text') return undefined; // a literal absolute path: anchored elsewhere
    if (first?.kind === 'path' && !first.complete) return first;
    [base, rest] = first?.kind === 'path' ? [first.path, args.slice(start + 1)] : [ctx.root, args];
  }
  const parts: string[] = [base];
  for (const arg of rest) {
    if (arg?.kind !== 'text') return { kind: 'path', path: `${posix.join(...parts)}/`, complete: false };
    // Only a prefix known: keep it as written, so that a trailing ".." still counts as a climb.
    if (!arg.complete) return { kind: 'path', path: `${posix.join(...parts)}/${arg.text}`, complete: false };
    parts.push(arg.text);
  }
  return { kind: 'path', path: posix.join(...parts), complete: true };
}

function lineOf(node: ts.Node): { line: number; text: string } {
  const source = node.getSourceFile();
  const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
  return { line: line + 1, text: node.getText(source).split('\n')[0]!.trim() };
}

function scanScript(ctx: Context, source: ts.SourceFile, findings: Finding[]): void {
  const file = relative(ctx.root, source.fileName).split('\\').join('/');
  const report = (node: ts.Node, why: string): void => {
    findings.push({ file, ...lineOf(node), why });
  };
  const describe = (path: string): string => relative(ctx.root, path).split('\\').join('/');

  const checkSpecifier = (node: ts.Node, specifier: string): void => {
    if (!specifier.startsWith('.')) return;
    const target = resolve(dirname(source.fileName), specifier);
    if (!inside(ctx.root, target)) report(node, `imports ${describe(target)}, outside the repository`);
  };
  const checkCwdRelative = (node: ts.Expression, what: string): boolean => {
    const value = evaluate(ctx, node);
    if (value?.kind !== 'text' || posix.isAbsolute(value.text) || /^[a-z][a-z0-9+.-]*:/i.test(value.text)) return false;
    const target = resolve(ctx.root, knownPrefix(value.text, value.complete));
    if (inside(ctx.root, target)) return false;
    report(node, `${what} ${describe(target)} (relative to the working directory, the repository root), outside the repository`);
    return true;
  };

  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      checkSpecifier(node, node.moduleSpecifier.text);
      return;
    }
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) {
      if (HANDBOOK_NAMES.test(node.text)) report(node, 'names the team handbook kept beside the repository (not in a clone)');
    }
    if (ts.isCallExpression(node)) {
      const callee = unwrap(node.expression);
      const [first] = node.arguments;
      // import('…'), import.meta.resolve('…'), require('…'): module specifiers, relative to this file.
      if (first && (callee.kind === ts.SyntaxKind.ImportKeyword || isImportMeta(callee, 'resolve') || (ts.isIdentifier(callee) && callee.text === 'require'))) {
        const value = evaluate(ctx, first);
        if (value?.kind === 'text') checkSpecifier(node, knownPrefix(value.text, value.complete));
      }
      const builtin = builtinCallee(ctx, callee);
      if (first && builtin?.module === 'fs' && FS_READS.has(builtin.name) && checkCwdRelative(first, `${builtin.name} reads`)) return;
    }
    if (ts.isPropertyAssignment(node) && (ts.isIdentifier(node.name) || ts.isStringLiteral(node.name)) && node.name.text === 'cwd') {
      if (checkCwdRelative(node.initializer, 'runs in')) return;
    }
    if (ts.isTemplateExpression(node) || ts.isBinaryExpression(node) || ts.isCallExpression(node) || ts.isNewExpression(node) || ts.isPropertyAccessExpression(node)) {
      const path = pathOf(evaluate(ctx, node as ts.Expression));
      if (path !== undefined && !inside(ctx.root, path)) {
        report(node, `reaches ${path} (${describe(path)}), outside the repository`);
        return; // one report for the outermost expression that leaves
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}

/** Comment lines of text files: a mention there documents, it does not read. */
function isCommentLine(line: string): boolean {
  const trimmed = line.trim();
  return trimmed.startsWith('#') || trimmed.startsWith('//');
}

function scanText(root: string, path: string, findings: Finding[]): void {
  const file = relative(root, path).split('\\').join('/');
  const lines = readFileSync(path, 'utf8').split('\n');
  for (const [i, line] of lines.entries()) {
    if (isCommentLine(line)) continue;
    if (HANDBOOK_NAMES.test(line)) findings.push({ file, line: i + 1, text: line.trim(), why: 'names the team handbook kept beside the repository (not in a clone)' });
    // go.mod: replace … => ../somewhere (a local module outside the repository).
    const replaced = /=>\s*(\.{1,2}\/\S*)/.exec(line);
    if (replaced && path.endsWith('.mod')) {
      const target = resolve(dirname(path), replaced[1]!);
      if (!inside(root, target)) findings.push({ file, line: i + 1, text: line.trim(), why: `replaces a module with ${relative(root, target)}, outside the repository` });
    }
  }
}

/**
 * Everything in `files` (default: the source folders of `root`) that reaches outside `root`, in file
 * and line order.
 */
export function findOutsideReads(root: string, files: readonly string[] = sourceFiles(root)): Finding[] {
  root = resolve(root);
  const scripts = files.filter((f) => SCRIPT_EXTENSIONS.has(extname(f)) && !f.endsWith('.d.ts'));
  const texts = files.filter((f) => TEXT_EXTENSIONS.has(extname(f)) || TEXT_NAMES.has(f.split('/').pop()!));
  // All the scripts in one program, so that the checker follows imports between them; nothing else is
  // loaded (no lib, no node_modules): only symbols are needed, not types.
  const program = ts.createProgram(scripts, {
    allowJs: true,
    noLib: true,
    noResolve: true,
    types: [],
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    allowImportingTsExtensions: true,
    target: ts.ScriptTarget.ES2023,
  });
  const ctx: Context = { root, program, checker: program.getTypeChecker(), memo: new Map(), active: new Set() };
  const findings: Finding[] = [];
  for (const file of scripts) {
    const source = program.getSourceFile(file);
    if (source) scanScript(ctx, source, findings);
  }
  for (const file of texts) scanText(root, file, findings);
  return findings.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
}

export function formatFindings(findings: readonly Finding[]): string {
  return findings.map((f) => `${f.file}:${f.line}: ${f.why}\n    ${f.text}`).join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = resolve(process.argv[2] ?? fileURLToPath(new URL('../../', import.meta.url)));
  const findings = findOutsideReads(root);
  console.log(findings.length === 0 ? `nothing under ${SOURCE_FOLDERS.join(', ')} reads outside ${root}` : formatFindings(findings));
  process.exitCode = findings.length === 0 ? 0 : 1;
}
