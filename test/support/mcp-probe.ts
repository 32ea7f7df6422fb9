// A one-shot MCP client for tests that cannot run the client in their own process: the image test
// runs it inside a network namespace (`ip netns exec NS node test/support/mcp-probe.ts URL`), where
// the containers under test listen on the namespace's loopback. It initializes a session, lists the
// tools, calls one if asked, and prints one line of JSON: {server, protocolVersion, tools, call}.
// Usage: node test/support/mcp-probe.ts URL [TOOL JSON_ARGUMENTS]
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

export interface ProbeResult {
  server: { name: string; version: string } | undefined;
  protocolVersion: string | undefined;
  tools: string[];
  /** The text of the called tool's result, when a tool was named. */
  call?: string;
}

export async function probe(url: string, tool?: string, args: Record<string, unknown> = {}): Promise<ProbeResult> {
  const client = new Client({ name: 'mcpmux-probe', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url));
  await client.connect(transport);
  try {
    const result: ProbeResult = {
      server: client.getServerVersion(),
      protocolVersion: transport.protocolVersion,
      tools: (await client.listTools()).tools.map((t) => t.name),
    };
    if (tool) {
      const called = await client.callTool({ name: tool, arguments: args });
      result.call = (called.content as { type: string; text?: string }[]).map((c) => c.text ?? '').join('');
    }
    return result;
  } finally {
    await client.close();
  }
}

if (import.meta.main) {
  const [url, tool, json] = process.argv.slice(2);
  if (!url) {
    console.error('usage: node test/support/mcp-probe.ts URL [TOOL JSON_ARGUMENTS]');
    process.exit(2);
  }
  try {
    console.log(JSON.stringify(await probe(url, tool, json ? (JSON.parse(json) as Record<string, unknown>) : {})));
  } catch (error) {
    console.error(`mcp-probe ${url}: ${(error as Error).message}`);
    process.exit(1);
  }
}
