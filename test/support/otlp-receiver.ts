// A real OTLP/HTTP traces receiver for tests: POST /v1/traces with an ExportTraceServiceRequest in
// protobuf (what @opentelemetry/exporter-trace-otlp-proto sends, gzip or not), decoded with
// protobufjs from the minimal schema beside this file. Every span received is kept, flattened.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const SCHEMA = fileURLToPath(new URL('./otlp-trace.proto', import.meta.url));
const KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'] as const;

export type AttributeValue = string | number | boolean | AttributeValue[] | undefined;

export interface ReceivedSpan {
  /** The resource's service.name. */
  service: string;
  resource: Record<string, AttributeValue>;
  scope: string;
  traceId: string;
  spanId: string;
  /** Undefined for a root span. */
  parentSpanId: string | undefined;
  traceState: string;
  name: string;
  kind: (typeof KINDS)[number];
  attributes: Record<string, AttributeValue>;
  events: Array<{ name: string; attributes: Record<string, AttributeValue> }>;
  links: Array<{ traceId: string; spanId: string; attributes: Record<string, AttributeValue> }>;
  status: { code: number; message: string };
}

export interface OtlpReceiver {
  /** The base URL to give an exporter (`--otlp-endpoint`); traces are POSTed to `${url}/v1/traces`. */
  url: string;
  spans: ReceivedSpan[];
  /** Every request body as received (after gzip): tests may look for bytes in them. */
  bodies: Buffer[];
  close(): Promise<void>;
}

interface KeyValue {
  key: string;
  value?: AnyValue;
}
interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KeyValue[] };
  bytesValue?: Uint8Array;
}
interface DecodedSpan {
  traceId?: Uint8Array;
  spanId?: Uint8Array;
  traceState?: string;
  parentSpanId?: Uint8Array;
  name?: string;
  kind?: number;
  attributes?: KeyValue[];
  events?: Array<{ name?: string; attributes?: KeyValue[] }>;
  links?: Array<{ traceId?: Uint8Array; spanId?: Uint8Array; attributes?: KeyValue[] }>;
  status?: { message?: string; code?: number };
}
interface DecodedRequest {
  resourceSpans?: Array<{ resource?: { attributes?: KeyValue[] }; scopeSpans?: Array<{ scope?: { name?: string }; spans?: DecodedSpan[] }> }>;
}

function value(v: AnyValue | undefined): AttributeValue {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(value);
  if (v.bytesValue) return Buffer.from(v.bytesValue).toString('hex');
  if (v.kvlistValue) return JSON.stringify(attributes(v.kvlistValue.values));
  return undefined;
}

function attributes(list: KeyValue[] | undefined): Record<string, AttributeValue> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, value(kv.value)]));
}

const hex = (bytes: Uint8Array | undefined): string => Buffer.from(bytes ?? []).toString('hex');

function body(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const root = await protobuf.load(SCHEMA);
  const Request = root.lookupType('otlp.test.ExportTraceServiceRequest');
  const spans: ReceivedSpan[] = [];
  const bodies: Buffer[] = [];
  const server = createServer((req, res) => {
    body(req)
      .then((raw) => {
        if (req.method !== 'POST' || req.url !== '/v1/traces') {
          res.writeHead(404).end();
          return;
        }
        if (!/^application\/x-protobuf/.test(req.headers['content-type'] ?? '')) {
          res.writeHead(415).end();
          return;
        }
        const data = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
        bodies.push(data);
        const decoded = Request.toObject(Request.decode(data), { longs: Number }) as DecodedRequest;
        for (const resourceSpans of decoded.resourceSpans ?? []) {
          const resource = attributes(resourceSpans.resource?.attributes);
          for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
            for (const span of scopeSpans.spans ?? []) {
              const parent = hex(span.parentSpanId);
              spans.push({
                service: String(resource['service.name']),
                resource,
                scope: scopeSpans.scope?.name ?? '',
                traceId: hex(span.traceId),
                spanId: hex(span.spanId),
                parentSpanId: parent === '' ? undefined : parent,
                traceState: span.traceState ?? '',
                name: span.name ?? '',
                kind: KINDS[span.kind ?? 0] ?? 'unspecified',
                attributes: attributes(span.attributes),
                events: (span.events ?? []).map((e) => ({ name: e.name ?? '', attributes: attributes(e.attributes) })),
                links: (span.links ?? []).map((l) => ({ traceId: hex(l.traceId), spanId: hex(l.spanId), attributes: attributes(l.attributes) })),
                status: { code: span.status?.code ?? 0, message: span.status?.message ?? '' },
              });
            }
          }
        }
        // An empty ExportTraceServiceResponse: everything accepted.
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      })
      .catch(() => res.writeHead(400).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    bodies,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
