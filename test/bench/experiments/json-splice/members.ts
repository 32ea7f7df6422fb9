// (An experiment, not used by the proxy: see bench.ts.) Finding the members of a JSON object in its text without parsing it: the key of each direct
// member and where its value starts and ends, so a message can be forwarded with one value
// replaced (a tool's name, an id) instead of being parsed and serialised again.
//
// The scan checks the grammar as JSON.parse would (structure, literals, numbers, escapes, no raw
// control characters in strings) without building anything: it walks from token to token, and
// over long strings with one native search. It never guesses: a key written with an escape (`"n\u0061me"` is
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
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

/** Deeper values are left to the parser (no stack is at risk in a scan). */
export const MAX_DEPTH = 64;

/** Long strings are checked by one regex over them; short ones character by character (a regex call costs more). */
const LONG_STRING = 48;
/** A raw control character, or a backslash (whose escape is then checked one by one). */
const CONTROL_OR_BACKSLASH = /[\u0000-\u001f\\]/;

function isWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;
}

function isDigit(code: number): boolean {
  return code >= ZERO && code <= NINE;
}

function isHex(code: number): boolean {
  return (code >= ZERO && code <= NINE) || (code >= 0x41 && code <= 0x46) || (code >= 0x61 && code <= 0x66);
}

export function skipWhitespace(text: string, at: number): number {
  let i = at;
  while (i < text.length && isWhitespace(text.charCodeAt(i))) i++;
  return i;
}

/** Just past the escape whose backslash is at `at`; -1 when it is not a JSON escape. */
function skipEscape(text: string, at: number): number {
  const code = text.charCodeAt(at + 1);
  // " \ / b f n r t
  if (code === QUOTE || code === BACKSLASH || code === 0x2f || code === 0x62 || code === 0x66 || code === 0x6e || code === 0x72 || code === 0x74) return at + 2;
  if (code !== 0x75) return -1; // u
  for (let k = at + 2; k < at + 6; k++) if (!isHex(text.charCodeAt(k))) return -1;
  return at + 6;
}

/** Just past the string whose opening quote is at `at`; -1 when it never closes, or holds a raw control character or an invalid escape. */
export function skipString(text: string, at: number): number {
  let i = at + 1;
  for (;;) {
    const quote = text.indexOf('"', i);
    if (quote === -1) return -1;
    // The stretch up to that quote: plain characters, or escapes (one of which may escape the quote).
    if (quote - i >= LONG_STRING && !CONTROL_OR_BACKSLASH.test(text.slice(i, quote))) return quote + 1;
    while (i < quote) {
      const code = text.charCodeAt(i);
      if (code === BACKSLASH) {
        i = skipEscape(text, i);
        if (i === -1) return -1;
      } else if (code < 0x20) {
        return -1;
      } else {
        i++;
      }
    }
    if (i === quote) return quote + 1;
    // The last escape ended past the quote: it was `\"`, the string goes on.
  }
}

/** Just past the number that starts at `at` (JSON's grammar); -1 when there is none. */
function skipNumber(text: string, at: number): number {
  let i = at;
  if (text.charCodeAt(i) === MINUS) i++;
  if (text.charCodeAt(i) === ZERO) i++;
  else if (isDigit(text.charCodeAt(i))) while (isDigit(text.charCodeAt(i))) i++;
  else return -1;
  if (text.charCodeAt(i) === DOT) {
    i++;
    if (!isDigit(text.charCodeAt(i))) return -1;
    while (isDigit(text.charCodeAt(i))) i++;
  }
  const e = text.charCodeAt(i);
  if (e === 0x65 || e === 0x45) {
    i++;
    const sign = text.charCodeAt(i);
    if (sign === PLUS || sign === MINUS) i++;
    if (!isDigit(text.charCodeAt(i))) return -1;
    while (isDigit(text.charCodeAt(i))) i++;
  }
  return i;
}

/** Just past the value that starts at `at`; -1 when there is no JSON value there (or it nests deeper than MAX_DEPTH). */
export function skipValue(text: string, at: number, depth = 0): number {
  const code = text.charCodeAt(at);
  if (code === QUOTE) return skipString(text, at);
  if (code === OPEN_BRACE) return depth >= MAX_DEPTH ? -1 : skipObject(text, at, depth + 1);
  if (code === OPEN_BRACKET) return depth >= MAX_DEPTH ? -1 : skipArray(text, at, depth + 1);
  if (code === 0x74) return text.startsWith('true', at) ? at + 4 : -1;
  if (code === 0x66) return text.startsWith('false', at) ? at + 5 : -1;
  if (code === 0x6e) return text.startsWith('null', at) ? at + 4 : -1;
  return skipNumber(text, at);
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

/** The direct members of the object that starts at `at` (after whitespace); undefined when it cannot be read without parsing. */
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
