// Summarizes a V8 .cpuprofile (from `node --cpu-prof`, or MCPMUX_BENCH_PROFILE=DIR npm run bench)
// as text: the functions with the most self time, and the most inclusive time per function,
// so a profile can be read in a terminal or pasted into a note.
// Usage: node test/bench/profile-summary.ts FILE.cpuprofile [--top 25] [--folded OUT]
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules\/)/, '$1').replace(/^.*\/work\/[^/]+\//, '');
  return `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
}

export function summarize(profile: CpuProfile, top: number): { text: string; folded: string } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const folded = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    self.set(frameName(node), (self.get(frameName(node)) ?? 0) + us);
    const stack: string[] = [];
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at);
      if (!frame) break;
      const name = frameName(frame);
      stack.push(name);
      if (!seen.has(name)) inclusive.set(name, (inclusive.get(name) ?? 0) + us);
      seen.add(name);
    }
    const key = stack.reverse().join(';');
    folded.set(key, (folded.get(key) ?? 0) + us);
  }
  const pct = (us: number): string => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
  const list = (map: Map<string, number>): string =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => `${pct(us)}  ${name}`)
      .join('\n');
  const text = `total ${(total / 1000).toFixed(0)} ms sampled\n\nself time:\n${list(self)}\n\ninclusive time:\n${list(inclusive)}\n`;
  return { text, folded: [...folded].map(([stack, us]) => `${stack} ${us}`).join('\n') + '\n' };
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' }, folded: { type: 'string' } } });
  const file = positionals[0];
  if (!file) {
    console.error('Usage: node test/bench/profile-summary.ts FILE.cpuprofile [--top 25] [--folded OUT]');
    process.exit(2);
  }
  const { text, folded } = summarize(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, Number(values.top));
  console.log(text);
  // Folded stacks feed flamegraph.pl, speedscope or inferno to draw the flame graph.
  if (values.folded) writeFileSync(values.folded, folded);
}
