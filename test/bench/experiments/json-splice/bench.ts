// An experiment kept with its measurement (issue 19 §1): forwarding a tools/call as text, with the
// tool's name spliced into the client's params and the upstream's result passed through, instead of
// parsing and serialising them (members.ts finds members in JSON text, checking the grammar as
// JSON.parse would; tool-call-frames.ts has the splicing rules, safe against duplicate and escaped
// keys; a fuzz target held it to JSON.parse's reading over 110,000 cases).
//
// It is not in the proxy because it costs more than it saves: V8's JSON.parse and JSON.stringify
// are native and fast, and a scan in JavaScript that checks the grammar as they do is slower at
// every size tried (the request is parsed anyway, for routing and authorization, so splicing it
// only replaces a stringify of an object already at hand). Run it to see on your machine:
//
//   node test/bench/experiments/json-splice/bench.ts
import { encodeMessage } from './raw-result.ts';
import { rawToolResult, splicedToolCallParams } from './tool-call-frames.ts';

function nsPerCall(n: number, work: () => unknown): number {
  for (let i = 0; i < n / 5; i++) work();
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) work();
  return Number(process.hrtime.bigint() - started) / n;
}

console.log('size    kind    response: parse+stringify  scan+splice   request: stringify  scan+splice');
for (const size of [100, 1000, 4000, 16000]) {
  const text = 'lorem ipsum, "dolor" sit amet. '.repeat(Math.ceil(size / 32)).slice(0, size);
  const items = Array.from({ length: Math.ceil(size / 40) }, (_, i) => ({ k: i, v: `val${i}`, ok: true }));
  const kinds: Array<[string, object, object]> = [
    ['text', { content: [{ type: 'text', text }] }, { message: text }],
    ['struct', { content: [{ type: 'text', text: 'x' }], structuredContent: { items } }, { items }],
  ];
  for (const [kind, result, args] of kinds) {
    const response = JSON.stringify({ result, jsonrpc: '2.0', id: 17 });
    const request = JSON.stringify({ jsonrpc: '2.0', id: 17, method: 'tools/call', params: { name: 'echo_echo', arguments: args } });
    const parsed = JSON.parse(request) as { params: object };
    const n = Math.max(2000, Math.floor(2e7 / response.length));
    const parsedResponse = nsPerCall(n, () => JSON.stringify({ jsonrpc: '2.0', id: 5, result: (JSON.parse(response) as { result: unknown }).result }));
    const splicedResponse = nsPerCall(n, () => encodeMessage({ jsonrpc: '2.0', id: 5, result: rawToolResult(response, 17, { contentUrisWrapped: true }) }));
    const parsedRequest = nsPerCall(n, () => JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { ...parsed.params, name: 'echo' } }));
    const splicedRequest = nsPerCall(n, () => `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":${splicedToolCallParams(request, 'echo_echo', 'echo') ?? ''}}`);
    const us = (ns: number): string => `${(ns / 1000).toFixed(2)} µs`.padStart(11);
    console.log(`${String(response.length).padEnd(7)} ${kind.padEnd(7)} ${us(parsedResponse).padStart(26)} ${us(splicedResponse).padStart(12)} ${us(parsedRequest).padStart(20)} ${us(splicedRequest).padStart(12)}`);
  }
}
