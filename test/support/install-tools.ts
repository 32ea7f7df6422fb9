// Installs the real tools tests drive, from registries by name, cached under ~/.cache/mcpmux/bin.
// Usage: node test/support/install-tools.ts grpcurl [...]
import { ensureTool, type ToolName } from './tools.ts';

const names = process.argv.slice(2) as ToolName[];
for (const name of names) {
  const path = await ensureTool(name);
  console.log(`${name}: ${path}`);
}
