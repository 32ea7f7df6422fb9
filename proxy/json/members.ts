// Finding the members of a JSON object in its text without parsing it: the key of each direct
// member and where its value starts and ends, so a message can be forwarded with one value
// replaced (a tool's name, an id) instead of being parsed and serialised again.
//
// The scan checks the grammar as JSON.parse would (structure, literals, numbers, escapes, no raw
// control characters) without building anything: it walks from token to token and jumps over the
// inside of strings with indexOf. It never guesses: a key written with an escape (`"n\u0061me"` is
// `name` to a parser) at the level read, text that is not JSON, or nesting deeper than
// MAX_DEPTH makes it answer undefined, and the caller parses instead.

export interface Member {
  /** The key as written; keys with escapes are never returned (the scan gives up instead). */
  key: string;
  /** The value's text is text.slice(valueStart, valueEnd). */
  valueStart: number;
  valueEnd: number;
}

export interface ObjectSpan {
  members: Member[];
  /** Just past the object's closing brace. */
  end: number;
  /** Whether some key appears more than once (parsers disagree on which one counts). */
  duplicateKeys: boolean;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** Deeper values are left to the parser (no stack is at risk in a scan). */
export const MAX_DEPTH = 64;

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
/** Control characters: raw in a string, JSON forbids them; between tokens (tabs, line breaks) it allows some. */
const CONTROL = /[\u0000-\u001f]/;
/** An escape: valid ones as a unit, so `\\\\` is two; a lone backslash is group 1, an invalid one. */
const ESCAPE = /\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})|(\\)/g;

function isWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;
}

export function skipWhitespace(text: string, at: number): number {
  let i = at;
  while (i < text.length && isWhitespace(text.charCodeAt(i))) i++;
  return i;
}

/**
 * Whether `text` is free of what the scan does not check inside strings: raw control characters
 * (stricter than JSON, which allows tabs and line breaks between tokens: compact text has none,
 * and a text with them is parsed instead) and invalid escapes. One pass over the whole text, done
 * once, so the scan of strings can jump.
 */
export function charactersValid(text: string): boolean {
  if (CONTROL.test(text)) return false;
  if (text.indexOf('\\') === -1) return true;
  ESCAPE.lastIndex = 0;
  for (let found = ESCAPE.exec(text); found; found = ESCAPE.exec(text)) if (found[1] !== undefined) return false;
  return true;
}

/** Just past the string whose opening quote is at `at`; -1 when it never closes. */
export function skipString(text: string, at: number): number {
  let from = at + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote === -1) return -1;
    // A quote preceded by an odd number of backslashes is escaped.
    let backslashes = 0;
    for (let k = quote - 1; k > at && text.charCodeAt(k) === BACKSLASH; k--) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

/** Just past the value that starts at `at`; -1 when there is no JSON value there (or it nests deeper than MAX_DEPTH). */
export function skipValue(text: string, at: number, depth = 0): number {
  const code = text.charCodeAt(at);
  if (code === QUOTE) return skipString(text, at);
  if (code === OPEN_BRACE) return depth >= MAX_DEPTH ? -1 : skipObject(text, at, depth + 1);
  if (code === OPEN_BRACKET) return depth >= MAX_DEPTH ? -1 : skipArray(text, at, depth + 1);
  if (text.startsWith('true', at)) return at + 4;
  if (text.startsWith('false', at)) return at + 5;
  if (text.startsWith('null', at)) return at + 4;
  NUMBER.lastIndex = at;
  return NUMBER.test(text) && NUMBER.lastIndex > at ? NUMBER.lastIndex : -1;
}

function skipObject(text: string, at: number, depth: number): number {
  let i = skipWhitespace(text, at + 1);
  if (text.charCodeAt(i) === CLOSE_BRACE) return i + 1;
  for (;;) {
    if (text.charCodeAt(i) !== QUOTE) return -1;
    i = skipString(text, i);
    if (i === -1) return -1;
    i = skipWhitespace(text, i);
    if (text.charCodeAt(i) !== COLON) return -1;
    i = skipValue(text, skipWhitespace(text, i + 1), depth);
    if (i === -1) return -1;
    i = skipWhitespace(text, i);
    const next = text.charCodeAt(i);
    if (next === CLOSE_BRACE) return i + 1;
    if (next !== COMMA) return -1;
    i = skipWhitespace(text, i + 1);
  }
}

function skipArray(text: string, at: number, depth: number): number {
  let i = skipWhitespace(text, at + 1);
  if (text.charCodeAt(i) === CLOSE_BRACKET) return i + 1;
  for (;;) {
    i = skipValue(text, i, depth);
    if (i === -1) return -1;
    i = skipWhitespace(text, i);
    const next = text.charCodeAt(i);
    if (next === CLOSE_BRACKET) return i + 1;
    if (next !== COMMA) return -1;
    i = skipWhitespace(text, i + 1);
  }
}

/**
 * The direct members of the object that starts at `at` (after whitespace); undefined when it
 * cannot be read without parsing. The characters of the text are not checked here: call
 * charactersValid() on it once first.
 */
export function objectMembers(text: string, at = 0): ObjectSpan | undefined {
  let i = skipWhitespace(text, at);
  if (text.charCodeAt(i) !== OPEN_BRACE) return undefined;
  const members: Member[] = [];
  let duplicateKeys = false;
  i = skipWhitespace(text, i + 1);
  if (text.charCodeAt(i) === CLOSE_BRACE) return { members, end: i + 1, duplicateKeys };
  for (;;) {
    if (text.charCodeAt(i) !== QUOTE) return undefined;
    const keyEnd = skipString(text, i);
    if (keyEnd === -1) return undefined;
    const key = text.slice(i + 1, keyEnd - 1);
    if (key.includes('\\')) return undefined;
    i = skipWhitespace(text, keyEnd);
    if (text.charCodeAt(i) !== COLON) return undefined;
    const valueStart = skipWhitespace(text, i + 1);
    const valueEnd = skipValue(text, valueStart, 1);
    if (valueEnd === -1) return undefined;
    for (const member of members) if (member.key === key) duplicateKeys = true;
    members.push({ key, valueStart, valueEnd });
    i = skipWhitespace(text, valueEnd);
    const next = text.charCodeAt(i);
    if (next === CLOSE_BRACE) return { members, end: i + 1, duplicateKeys };
    if (next !== COMMA) return undefined;
    i = skipWhitespace(text, i + 1);
  }
}

/** The one member named `key`, or undefined when there is none. */
export function member(span: ObjectSpan, key: string): Member | undefined {
  for (const each of span.members) if (each.key === key) return each;
  return undefined;
}

/** The text of a member's value. */
export function valueText(text: string, found: Member): string {
  return text.slice(found.valueStart, found.valueEnd);
}
