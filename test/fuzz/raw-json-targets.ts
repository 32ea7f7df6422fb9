// Fuzz target for tools/call forwarded as text (proxy/json/tool-call-frames.ts), next to targets.ts:
//  - raw-json: client messages and upstream answers built from fragments that trip parsers up
//    (duplicate keys at every level, keys and names with escapes, whitespace, nesting, strings full
//    of quotes, backslashes and brackets), then mutated. Whatever the splice accepts must say what
//    JSON.parse says: the spliced params parse to the parsed params with the upstream's name, and
//    hold no duplicate or escaped key a first-wins parser could read another way; a result kept as
//    text parses to the parsed result, with the same isError, under the id we sent.
import * as fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { objectMembers } from '../../proxy/json/members.ts';
import { rawToolResult, splicedToolCallParams } from '../../proxy/json/tool-call-frames.ts';
import type { FuzzRun, TargetResult } from './targets.ts';

const key = fc.constantFrom('"name"', '"n\\u0061me"', '"arguments"', '"_meta"', '"x"', '"name "', '"params"', '"id"', '"result"', '"jsonrpc"', '"isError"', '"content"', '"task"', '"taskId"');
const scalar = fc.constantFrom('"a_echo"', '"echo"', '"a\\u005fecho"', '"\\"a_echo\\""', '"x\\\\"', '"]}"', '1', '-2.5e3', 'true', 'false', 'null', '"resource_link"', '"io.modelcontextprotocol/related-task"');
const space = fc.constantFrom('', ' ', '\n', '\t ');

const value: fc.Arbitrary<string> = fc.letrec<{ value: string; object: string; array: string }>((tie) => ({
  value: fc.oneof({ weight: 3, arbitrary: scalar }, tie('object'), tie('array')),
  object: fc
    .array(fc.tuple(space, key, space, tie('value')), { maxLength: 4 })
    .map((members) => `{${members.map(([s, k, t, v]) => `${s}${k}${t}:${v}`).join(',')}}`),
  array: fc.array(tie('value'), { maxLength: 3 }).map((items) => `[${items.join(',')}]`),
})).value;

/** An object with the member `first` among random ones (duplicates and escaped keys included). */
function objectWith(first: string): fc.Arbitrary<string> {
  return fc
    .tuple(fc.array(fc.tuple(key, value), { maxLength: 3 }), fc.nat({ max: 3 }), space)
    .map(([members, at, s]) => {
      const all = members.map(([k, v]) => `${k}:${v}`);
      all.splice(Math.min(at, all.length), 0, first);
      return `{${s}${all.join(`,${s}`)}}`;
    });
}

/** A text with one random edit, or as it is. */
function mutated(text: string): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 5, arbitrary: fc.constant(text) },
    fc.nat({ max: text.length }).map((n) => text.slice(0, n)),
    fc.tuple(fc.nat({ max: Math.max(0, text.length - 1) }), fc.constantFrom('"', '\\', '{', '}', '[', ']', ',', ':', ' ')).map(([at, ch]) => text.slice(0, at) + ch + text.slice(at + 1)),
  );
}

function parses(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Whether a first-wins reading of the object could differ: a duplicate or escaped key at its top level. */
function ambiguous(text: string): boolean {
  const span = objectMembers(text);
  return span === undefined || span.duplicateKeys;
}

const clientMessage = fc
  .tuple(fc.array(fc.tuple(key, value), { maxLength: 3 }), fc.oneof(value, objectWith('"name":"a_echo"'), objectWith('"name":"a\\u005fecho"')), fc.boolean())
  .map(([extra, params, paramsFirst]) => {
    const members = [...extra.map(([k, v]) => `${k}:${v}`), `"params":${params}`];
    if (!paramsFirst) members.reverse();
    return `{"jsonrpc":"2.0","id":1,"method":"tools/call",${members.join(',')}}`;
  })
  .chain(mutated);

const upstreamAnswer = fc
  .tuple(fc.array(fc.tuple(key, value), { maxLength: 2 }), fc.oneof(value, objectWith('"content":[]'), objectWith('"isError":true')), fc.constantFrom('7', '7', '"7"', '8'))
  .map(([extra, result, id]) => `{"jsonrpc":"2.0","id":${id},${[...extra.map(([k, v]) => `${k}:${v}`), `"result":${result}`].join(',')}}`)
  .chain(mutated);

export async function rawJsonTarget(run: FuzzRun): Promise<TargetResult> {
  const started = performance.now();
  let spliced = 0;
  let kept = 0;
  fc.assert(
    fc.property(clientMessage, upstreamAnswer, fc.boolean(), (message, answer, prefixed) => {
      const parsed = parses(message) as { params?: { name?: unknown } } | undefined;
      const exposed = typeof parsed?.params?.name === 'string' ? parsed.params.name : 'a_echo';
      // As in the proxy: only a message JSON.parse read is spliced.
      const params = parsed === undefined ? undefined : splicedToolCallParams(message, exposed, 'echo');
      if (params !== undefined) {
        if (!parsed?.params) throw new Error(`spliced a message JSON.parse does not read as one with params: ${message}`);
        if (!isDeepStrictEqual(parses(params), { ...parsed.params, name: 'echo' })) throw new Error(`spliced params differ from the parsed ones: ${message} -> ${params}`);
        if (ambiguous(params)) throw new Error(`spliced params a first-wins parser may read otherwise: ${params}`);
        spliced++;
      }
      const raw = rawToolResult(answer, 7, { contentUrisWrapped: prefixed });
      if (raw !== undefined) {
        const whole = parses(answer) as { id?: unknown; result?: { isError?: unknown; content?: unknown } } | undefined;
        if (whole?.id !== 7 || ambiguous(answer)) throw new Error(`kept the result of an answer that is not ours alone: ${answer}`);
        if (!isDeepStrictEqual(parses(raw.json), whole.result)) throw new Error(`kept result differs from the parsed one: ${answer}`);
        if (raw.isError !== (whole.result?.isError === true)) throw new Error(`isError read wrong: ${answer}`);
        if (raw.json.includes('\n')) throw new Error(`kept a result that breaks an SSE line: ${answer}`);
        kept++;
      }
    }),
    { seed: run.seed, numRuns: run.cases },
  );
  if (run.cases >= 500 && (spliced === 0 || kept === 0)) throw new Error(`the generator never reached the raw paths (spliced ${spliced}, kept ${kept})`);
  if (process.env.MCPMUX_FUZZ_VERBOSE) console.log({ spliced, kept });
  return { name: 'tools/call text splicing (duplicate keys, escapes)', cases: run.cases, ms: performance.now() - started };
}
