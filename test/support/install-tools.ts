// Installs the real tools tests drive, from registries by name, cached under ~/.cache/mcpmux.
// Usage: node test/support/install-tools.ts grpcurl python-fetcher python-modern [...]
//   grpcurl         go install, into ~/.cache/mcpmux/bin
//   python-fetcher  the tutorial's Python website fetcher's virtualenv (test/support/python.ts)
//   python-modern   the modern (2026-07-28) Python SDK server's virtualenv, mcp 2.x (test/support/python.ts)
import { ensureModernPythonVenv, ensurePythonVenv, modernVenvTiming, venvTiming, type VenvTiming } from './python.ts';
import { ensureTool, type ToolName } from './tools.ts';

const venvs: Record<string, { ensure: () => Promise<string>; timing: VenvTiming }> = {
  'python-fetcher': { ensure: ensurePythonVenv, timing: venvTiming },
  'python-modern': { ensure: ensureModernPythonVenv, timing: modernVenvTiming },
};

for (const name of process.argv.slice(2)) {
  const venv = venvs[name];
  if (venv) {
    const python = await venv.ensure();
    console.log(`${name}: ${python} (${venv.timing.installed ? 'installed' : 'cached'}, ${(venv.timing.ms / 1000).toFixed(1)} s)`);
    continue;
  }
  const path = await ensureTool(name as ToolName);
  console.log(`${name}: ${path}`);
}
