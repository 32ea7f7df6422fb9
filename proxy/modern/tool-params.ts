// The `x-mcp-header` declarations of each target's tools, as the gateway needs them for a
// 2026-07-28 tools/call: to check the client's Mcp-Param-* headers (as a server) and to send an
// upstream the ones it expects (as a client). Learnt from every tools/list that passes through
// (any client's), fetched once when a call names a tool not seen yet, and forgotten when the
// upstream says its tools changed, when a call finds the upstream disagreeing (-32020), or after a
// while (tools rarely change, but they do).
import type { CompiledTarget } from '../routing/table.ts';
import type { UpstreamConnection, UpstreamResponse } from '../upstream/connection.ts';
import { mcpParamDeclarations, type McpParamDeclaration } from './mcp-param.ts';

/** A target's declarations are trusted this long without a fresh list. */
const MAX_AGE_MS = 5 * 60_000;
/** Pages one target's tools/list may take when fetched here. */
const MAX_PAGES = 20;

type Known = { ok: readonly McpParamDeclaration[] } | { error: string };

interface TargetTools {
  at: number;
  /** By the upstream's tool name. */
  tools: Map<string, Known>;
  complete: boolean;
}

function keyOf(target: CompiledTarget): string {
  return `${target.backend}\u0000${target.name}`;
}

export class ToolParams {
  readonly #targets = new Map<string, TargetTools>();

  /** Learns from one page of a target's tools/list (upstream names); `complete` when it was the last page of a full walk. */
  learn(target: CompiledTarget, tools: readonly unknown[], complete = false): void {
    const key = keyOf(target);
    let known = this.#targets.get(key);
    if (!known || Date.now() - known.at > MAX_AGE_MS) {
      known = { at: Date.now(), tools: new Map(), complete: false };
      this.#targets.set(key, known);
    }
    for (const tool of tools) {
      if (tool === null || typeof tool !== 'object') continue;
      const { name, inputSchema } = tool as { name?: unknown; inputSchema?: unknown };
      if (typeof name === 'string') known.tools.set(name, mcpParamDeclarations(inputSchema));
    }
    if (complete) known.complete = true;
  }

  /** Forgets what is known of a target (its tools changed, or it disagreed with us). */
  forget(target: CompiledTarget): void {
    this.#targets.delete(keyOf(target));
  }

  /** What is known of `tool` of `target` now, without asking anyone (the hot path); undefined when it must be fetched. */
  cached(target: CompiledTarget, tool: string): Known | 'not listed' | undefined {
    const known = this.#targets.get(keyOf(target));
    if (!known || Date.now() - known.at > MAX_AGE_MS) return undefined;
    return known.tools.get(tool) ?? (known.complete ? 'not listed' : undefined);
  }

  /**
   * The declarations of `tool` of `target`: from what was learnt, else from a complete tools/list
   * fetched now through `upstream`. Undefined when the target does not list the tool (the upstream
   * will say what it thinks of the call).
   */
  async of(target: CompiledTarget, tool: string, upstream: UpstreamConnection, list: (cursor: string | undefined) => Promise<UpstreamResponse>): Promise<Known | undefined> {
    const known = this.#targets.get(keyOf(target));
    const fresh = known && Date.now() - known.at <= MAX_AGE_MS;
    const found = fresh ? known.tools.get(tool) : undefined;
    if (found || (fresh && known.complete)) return found;
    if (!upstream.initializeResult?.capabilities.tools) return undefined;
    this.forget(target);
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const response = await list(cursor);
      if (!('result' in response)) return undefined;
      const result = response.result as { tools?: unknown; nextCursor?: unknown };
      cursor = typeof result.nextCursor === 'string' && result.nextCursor !== '' ? result.nextCursor : undefined;
      this.learn(target, Array.isArray(result.tools) ? result.tools : [], cursor === undefined);
      if (cursor === undefined) break;
    }
    return this.#targets.get(keyOf(target))?.tools.get(tool);
  }
}
