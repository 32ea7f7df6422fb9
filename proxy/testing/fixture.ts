// The upstreams the proxy's end-to-end tests federate, started together and cleaned up together,
// and an SDK client connected through the proxy.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startWebsiteFetcher, type WebsiteFetcher } from '../../deploy/examples/website-fetcher/server.ts';
import { Cleanup, freePort } from '../../shared/testing/processes.ts';
import { startPagedServer, startServerEverything, startWebsite, type EverythingServer, type LocalServer } from '../../shared/testing/upstreams.ts';

export const EVERYTHING = 'mcp-server-everything-3001';
export const FETCHER = 'mcp-website-fetcher-80';
export const PAGED = 'paged';
export const DOWN = 'down';

export interface Upstreams {
  everything: EverythingServer;
  fetcher: WebsiteFetcher;
  paged: LocalServer;
  website: LocalServer;
  /** A loopback URL where nothing listens. */
  downUrl: string;
}

export async function startUpstreams(cleanup: Cleanup): Promise<Upstreams> {
  const [everything, fetcher, paged, website, downPort] = await Promise.all([
    startServerEverything(),
    startWebsiteFetcher({ port: 0 }),
    startPagedServer({ toolCount: 5, promptCount: 3, pageSize: 2 }),
    startWebsite('hello from the website'),
    freePort(),
  ]);
  cleanup.add(() => everything.stop());
  cleanup.add(() => fetcher.close());
  cleanup.add(() => paged.close());
  cleanup.add(() => website.close());
  return { everything, fetcher, paged, website, downUrl: `http://127.0.0.1:${downPort}/mcp` };
}

/** An SDK client with an open session through the proxy at `url`. */
export async function connectClient(url: string, cleanup: Cleanup, name = 'test-client'): Promise<Client> {
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  cleanup.add(() => client.close());
  return client;
}

/** The text of the first content block of a tool result. */
export function firstText(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content ?? [];
  return content[0]?.text ?? '';
}
