// Which MCP era each upstream endpoint speaks, decided per upstream and never from a client's era:
// an operator's override on the target wins; otherwise one `server/discover` probe per endpoint,
// whose verdict is cached and probed again after a failure that says it was wrong. The probe's body
// is parsed whatever its status (some SDKs answer 200 with an error in it). A modern endpoint's
// discover result is kept: it stands in for the initialize answer a 2025 session would have had.
import type { Dispatcher } from 'undici';
import { McpmuxError, errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import { MODERN_PROTOCOL_VERSION } from '../modern/wire.ts';
import { buildUpstreamMeta } from '../modern/envelope.ts';
import { modernPostHeaders } from './modern-headers.ts';
import type { CompiledTarget, EndpointUrl } from '../routing/table.ts';

export type Era = 'legacy' | 'modern';

/** What a modern upstream said of itself in `server/discover`. */
export interface DiscoverResult {
  supportedVersions: string[];
  capabilities: Record<string, unknown>;
  instructions?: string | undefined;
  serverInfo?: { name: string; version: string } | undefined;
  ttlMs?: number | undefined;
  cacheScope?: string | undefined;
}

export type EraVerdict = { era: 'legacy'; why: string } | { era: 'modern'; discover: DiscoverResult };

export interface EraProbeOptions {
  dispatcher: Dispatcher;
  logger: Logger;
  /** A verdict is trusted this long before the endpoint is probed again. Default 10 min. */
  ttlMs?: number;
  /** How long a probe may take. Default 5 s. */
  timeoutMs?: number;
  /** Told each verdict (for the era metric). */
  onVerdict?: (target: string, era: Era) => void;
}

const PROBE_BODY_LIMIT = 256 * 1024;

/** The verdict of one probe answer: a valid DiscoverResult listing our modern version, or -32022 listing it. */
export function classifyProbe(status: number, body: string): EraVerdict {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    // An SSE-framed answer: take the first data line that parses.
    const data = /^data:\s?(.*)$/m.exec(body)?.[1];
    try {
      parsed = data === undefined ? undefined : JSON.parse(data);
    } catch {
      parsed = undefined;
    }
  }
  if (parsed === null || typeof parsed !== 'object') return { era: 'legacy', why: `server/discover answered HTTP ${status} without JSON-RPC` };
  const message = parsed as { result?: unknown; error?: { code?: unknown; message?: unknown; data?: unknown } };
  const result = message.result as Partial<DiscoverResult> | undefined;
  if (result && typeof result === 'object') {
    const versions = Array.isArray(result.supportedVersions) ? result.supportedVersions.filter((v): v is string => typeof v === 'string') : [];
    if (versions.includes(MODERN_PROTOCOL_VERSION) && result.capabilities !== null && typeof result.capabilities === 'object') {
      const serverInfo = (result as { _meta?: Record<string, unknown> })._meta?.['io.modelcontextprotocol/serverInfo'] as DiscoverResult['serverInfo'];
      return {
        era: 'modern',
        discover: {
          supportedVersions: versions,
          capabilities: result.capabilities,
          instructions: typeof result.instructions === 'string' ? result.instructions : undefined,
          serverInfo: serverInfo && typeof serverInfo === 'object' ? serverInfo : undefined,
          ttlMs: typeof result.ttlMs === 'number' ? result.ttlMs : undefined,
          cacheScope: typeof result.cacheScope === 'string' ? result.cacheScope : undefined,
        },
      };
    }
    return { era: 'legacy', why: `server/discover offers no ${MODERN_PROTOCOL_VERSION}` };
  }
  const error = message.error;
  if (error && error.code === -32022) {
    const supported = (error.data as { supported?: unknown } | undefined)?.supported;
    if (Array.isArray(supported) && supported.includes(MODERN_PROTOCOL_VERSION)) {
      // It serves our version but refused the probe's: the probe itself is at fault, not the era.
      return { era: 'legacy', why: `server/discover refused ${MODERN_PROTOCOL_VERSION} although it lists it` };
    }
  }
  const code = typeof error?.code === 'number' ? ` ${error.code}` : '';
  return { era: 'legacy', why: `server/discover answered HTTP ${status} with error${code}${typeof error?.message === 'string' ? `: ${error.message}` : ''}` };
}

/** The era directory of one proxy: verdicts per endpoint URL, probes shared by everyone who asks at once. */
export class EraDirectory {
  readonly #options: EraProbeOptions;
  readonly #verdicts = new Map<string, { verdict: EraVerdict; at: number }>();
  readonly #probing = new Map<string, Promise<EraVerdict>>();

  constructor(options: EraProbeOptions) {
    this.#options = options;
  }

  /**
   * The era of `endpoint` of `target`: its configured era when it has one (stdio and legacy SSE
   * targets are 2025-era by nature), else the cached or freshly probed verdict. A modern target set
   * by override is still probed, for its discover result. Throws MCPMUX_TARGET_UNAVAILABLE when the
   * endpoint cannot be reached at all.
   */
  async verdict(target: CompiledTarget, endpoint: EndpointUrl): Promise<EraVerdict> {
    if (target.stdio || target.protocol === 'PROTOCOL_SSE') return { era: 'legacy', why: 'stdio and HTTP+SSE targets speak 2025-11-25' };
    if (target.protocolEra === 'legacy') return { era: 'legacy', why: 'the target is configured protocolEra: legacy' };
    const key = endpoint.url;
    const cached = this.#verdicts.get(key);
    if (cached && Date.now() - cached.at < (this.#options.ttlMs ?? 600_000)) return cached.verdict;
    let probing = this.#probing.get(key);
    if (!probing) {
      probing = this.#probe(target, endpoint).finally(() => this.#probing.delete(key));
      this.#probing.set(key, probing);
    }
    const verdict = await probing;
    if (target.protocolEra === 'modern' && verdict.era === 'legacy') {
      throw new McpmuxError('MCPMUX_UPSTREAM_PROTOCOL', `target ${target.name} is configured protocolEra: modern but ${verdict.why}`);
    }
    return verdict;
  }

  /** The verdict when it is already known and fresh (no probe, no promise: the hot path); else undefined. */
  cached(target: CompiledTarget, endpoint: EndpointUrl): EraVerdict | undefined {
    if (target.stdio || target.protocol === 'PROTOCOL_SSE' || target.protocolEra === 'legacy') return undefined;
    const cached = this.#verdicts.get(endpoint.url);
    if (!cached || Date.now() - cached.at >= (this.#options.ttlMs ?? 600_000)) return undefined;
    if (target.protocolEra === 'modern' && cached.verdict.era === 'legacy') return undefined;
    return cached.verdict;
  }

  /** What is known of an endpoint now, without probing (for metrics and the CLI). */
  known(endpoint: EndpointUrl): Era | undefined {
    return this.#verdicts.get(endpoint.url)?.verdict.era;
  }

  /** Forgets the verdict of an endpoint: its next use probes again (it answered as the other era would). */
  forget(endpoint: EndpointUrl): void {
    this.#verdicts.delete(endpoint.url);
  }

  async #probe(target: CompiledTarget, endpoint: EndpointUrl): Promise<EraVerdict> {
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 'mcpmux-probe',
      method: 'server/discover',
      params: { _meta: buildUpstreamMeta({ protocolVersion: MODERN_PROTOCOL_VERSION, clientCapabilities: {}, clientInfo: { name: 'mcpmux', version: 'probe' } }) },
    });
    let status = 0;
    let text = '';
    try {
      const response = await this.#options.dispatcher.request({
        origin: endpoint.origin,
        path: endpoint.path,
        method: 'POST',
        headers: modernPostHeaders(endpoint, 'server/discover', undefined),
        body,
        signal: AbortSignal.timeout(this.#options.timeoutMs ?? 5_000),
      });
      status = response.statusCode;
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        if (size < PROBE_BODY_LIMIT) chunks.push(chunk);
        size += chunk.length;
        // An SSE answer may stay open: the first event is all we need.
        if (/\r?\n\r?\n/.test(Buffer.concat(chunks).toString('utf8')) && String(response.headers['content-type'] ?? '').startsWith('text/event-stream')) break;
      }
      response.body.destroy();
      text = Buffer.concat(chunks).toString('utf8');
    } catch (error) {
      throw new McpmuxError('MCPMUX_TARGET_UNAVAILABLE', `target ${target.name} is unavailable at ${endpoint.url}: ${errorMessage(error)}`, { cause: error });
    }
    const verdict = classifyProbe(status, text);
    this.#verdicts.set(endpoint.url, { verdict, at: Date.now() });
    this.#options.onVerdict?.(target.name, verdict.era);
    this.#options.logger.info({ target: target.name, endpoint: endpoint.url, era: verdict.era, ...(verdict.era === 'legacy' ? { why: verdict.why } : {}) }, 'upstream era decided');
    return verdict;
  }
}
