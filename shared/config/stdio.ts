// How a stdio target's command is shown to people (validate's report, proxy logs and errors): as a
// shell would read it, with its working directory and the names of its environment variables, never
// their values (they may hold tokens).
import type { StdioCommand } from './types.ts';

const PLAIN_WORD = /^[\w@%+=:,./-]+$/;

export function describeStdioCommand(stdio: StdioCommand): string {
  const words = [stdio.command, ...stdio.args].map((w) => (PLAIN_WORD.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`));
  const env = Object.keys(stdio.env);
  return `${words.join(' ')}${stdio.cwd ? ` in ${stdio.cwd}` : ''}${env.length > 0 ? ` with env ${env.join(', ')}` : ''}`;
}
