// A JSON-RPC result whose JSON text is already written (a merged list joined from pre-encoded
// items, mux/list-encoding.ts): the writers of responses splice the text in instead of serialising
// the result again. Anything else that serialises or reads it still gets the right thing: its
// toJSON and its properties are the parsed text (parsed once, on first use).
const RAW_TEXT = Symbol('mcpmux.preEncodedJson');

type Carrier = Record<string, unknown> & { readonly [RAW_TEXT]?: string };

/**
 * A result object carrying `text` (a JSON object's text) ready to send. `keys` are its top-level
 * keys: they read as the parsed text, so code that looks into the result still sees it.
 */
export function preEncodedResult(text: string, keys: readonly string[]): Record<string, unknown> {
  let parsed: Record<string, unknown> | undefined;
  const value = (): Record<string, unknown> => (parsed ??= JSON.parse(text) as Record<string, unknown>);
  const result: Carrier = {};
  Object.defineProperty(result, RAW_TEXT, { value: text, enumerable: false });
  Object.defineProperty(result, 'toJSON', { value: value, enumerable: false });
  for (const key of keys) Object.defineProperty(result, key, { get: () => value()[key], enumerable: true });
  return result;
}

/** The pre-encoded text of a result, if it has one. */
export function preEncodedText(result: unknown): string | undefined {
  return typeof result === 'object' && result !== null ? (result as Carrier)[RAW_TEXT] : undefined;
}

/**
 * JSON.stringify(message), the pre-encoded result spliced in without being serialised again.
 * The splice is used only when `result` is the message's last key (the responses MuxSession
 * builds), so the text is byte for byte what JSON.stringify would write.
 */
export function encodeMessage(message: unknown): string {
  if (typeof message !== 'object' || message === null || !('result' in message)) return JSON.stringify(message);
  const { result, ...envelope } = message as { result: unknown };
  const text = preEncodedText(result);
  if (text === undefined) return JSON.stringify(message);
  const keys = Object.keys(message);
  if (keys[keys.length - 1] !== 'result') return JSON.stringify(message);
  const head = JSON.stringify(envelope);
  return head === '{}' ? `{"result":${text}}` : `${head.slice(0, -1)},"result":${text}}`;
}
