// The `=?base64?…?=` form of MCP header values (SEP-2243): values that cannot travel as plain ASCII
// field values (non-ASCII, control characters, edge whitespace) are sent as Base64 of their UTF-8.
import { McpmuxError } from '../../shared/errors.ts';

const PREFIX = '=?base64?';
const SUFFIX = '?=';
/** What a literal value may hold: printable ASCII and tabs (RFC 9110 field-content without obs-text). */
const PLAIN = /^[\t\x20-\x7e]*$/;

// fatal: bad UTF-8 is refused, not replaced; ignoreBOM: a leading U+FEFF is part of the value.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The value without RFC 9110 optional whitespace (spaces and tabs) at either end. */
export function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && (value.charCodeAt(start) === 0x20 || value.charCodeAt(start) === 0x09)) start++;
  while (end > start && (value.charCodeAt(end - 1) === 0x20 || value.charCodeAt(end - 1) === 0x09)) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

/**
 * Decodes a header value: `=?base64?X?=` (lowercase sentinel) → strict Base64 (standard alphabet,
 * correct padding) decoded as UTF-8, else McpmuxError MCPMUX_HEADER_MISMATCH; a value missing the
 * prefix or the suffix is a literal, which must be plain ASCII (else MCPMUX_HEADER_MISMATCH: the spec's
 * "invalid characters"). OWS (spaces/tabs) around the value is trimmed first.
 * `headerName` only names the header in the error message.
 */
export function decodeHeaderValue(raw: string, headerName = 'header'): string {
  const value = trimOws(raw);
  // Shorter than prefix + suffix: the two would overlap, so it is not the wrapped form.
  if (value.length < PREFIX.length + SUFFIX.length || !value.startsWith(PREFIX) || !value.endsWith(SUFFIX)) {
    // A literal is plain ASCII: anything else (obs-text, which Node reads as Latin-1) must come wrapped.
    if (!PLAIN.test(value)) throw new McpmuxError('MCPMUX_HEADER_MISMATCH', `the ${headerName} value has characters that are not plain ASCII; send such values as =?base64?<Base64 of UTF-8>?=`, { data: { header: headerName } });
    return value;
  }
  const payload = value.slice(PREFIX.length, value.length - SUFFIX.length);
  const bytes = Buffer.from(payload, 'base64');
  // Node's decoder skips bad characters and tolerates missing padding and non-zero spare bits; only
  // the canonical spelling of the decoded bytes is accepted, which refuses all three.
  if (bytes.toString('base64') !== payload) {
    throw new McpmuxError('MCPMUX_HEADER_MISMATCH', `the ${headerName} value is not valid Base64 inside =?base64?…?= (standard alphabet, with padding)`, { data: { header: headerName } });
  }
  try {
    return utf8.decode(bytes);
  } catch {
    throw new McpmuxError('MCPMUX_HEADER_MISMATCH', `the ${headerName} value inside =?base64?…?= is not valid UTF-8`, { data: { header: headerName } });
  }
}

/** Whether a value can travel as it is: printable ASCII, no edge space, not mistakable for the Base64 form. */
function isSafe(value: string): boolean {
  // An empty value is Base64-wrapped too: some intermediaries drop empty fields.
  if (value.length === 0 || value.startsWith(PREFIX)) return false;
  if (value.charCodeAt(0) === 0x20 || value.charCodeAt(value.length - 1) === 0x20) return false;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code > 0x7e) return false;
  }
  return true;
}

/**
 * The header form of a value: as is when it is safe (printable ASCII 0x20-0x7E, not empty, no
 * leading/trailing space, not starting with `=?base64?`), else `=?base64?<standard Base64 of UTF-8>?=`.
 * Lone UTF-16 surrogates cannot be UTF-8 and travel as U+FFFD.
 */
export function encodeHeaderValue(value: string): string {
  return isSafe(value) ? value : `${PREFIX}${Buffer.from(value, 'utf8').toString('base64')}${SUFFIX}`;
}

/** Whether a decoded header value names the body's string, letting lone surrogates in the body match the U+FFFD they travel as. */
export function sameHeaderText(decoded: string, body: string): boolean {
  if (decoded === body) return true;
  return decoded.includes('\ufffd') && Buffer.from(body, 'utf8').toString('utf8') === decoded;
}
