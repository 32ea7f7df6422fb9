// Installs the real tools tests drive, from registries by name, cached under ~/.cache/mcpmux.
// Usage: node test/support/install-tools.ts grpcurl python-fetcher [...]
//   grpcurl         go install, into ~/.cache/mcpmux/bin
//   python-fetcher  the tutorial's Python website fetcher's virtualenv (test/support/python.ts)
import { ensurePythonVenv, venvTiming } from './python.ts';
import { ensureTool, type ToolName } from './tools.ts';

for (const name of process.argv.slice(2)) {
  if (name === 'python-fetcher') {
    const python = await ensurePythonVenv();
    console.log(`${name}: ${python} (${venvTiming.installed ? 'installed' : 'cached'}, ${(venvTiming.ms / 1000).toFixed(1)} s)`);
    continue;
  }
  const path = await ensureTool(name as ToolName);
  console.log(`${name}: ${path}`);
}
