// (An experiment, not used by the proxy: see bench.ts.) A JSON-RPC result kept as the text an upstream sent, to be written to the client as it came:
// what a tools/call answer that needs no rewriting becomes (mux/raw-tool-call.ts), so the proxy
// neither parses nor serialises it. Everything that writes a message to a client goes through
// encodeMessage(), which splices the text in; anything else that serialises one still gets the
// right JSON (toJSON parses it), only slower. Only `isError` is readable as a property: it is
// what metrics and spans ask of a tool result.

export class RawJsonResult {
  readonly json: string;
  /** The tool result's own `isError: true` (a failed call that is still a JSON-RPC success). */
  readonly isError: boolean;

  constructor(json: string, isError: boolean) {
    this.json = json;
    this.isError = isError;
  }

  toJSON(): unknown {
    return JSON.parse(this.json);
  }
}

/** A JSON-RPC message as the text a client gets: one serialisation, with a raw result spliced in. */
export function encodeMessage(message: unknown): string {
  if (message !== null && typeof message === 'object') {
    const { result, id } = message as { result?: unknown; id?: unknown };
    if (result instanceof RawJsonResult && Object.keys(message).length === 3) {
      return `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${result.json}}`;
    }
  }
  return JSON.stringify(message);
}
