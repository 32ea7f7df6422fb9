// CPU time and memory of a child process, read from /proc (Linux), so a scenario can report what
// a component cost without asking the component.
import { readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS = 100; // USER_HZ on Linux

export interface ProcessSample {
  /** User + system CPU time in ms since the process started. */
  cpuMs: number;
  rssBytes: number;
}

export function sampleProcess(pid: number): ProcessSample {
  // Fields after the command name (which may hold spaces): state is field 3; utime 14, stime 15.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuMs: (ticks * 1000) / CLOCK_TICKS, rssBytes: Number(rss?.[1] ?? 0) * 1024 };
}

/**
 * CPU ms a process has used, to the nanosecond: the sum of its threads' run time from
 * /proc/PID/task/TID/schedstat (the 10 ms ticks of /proc/PID/stat are too coarse for one short
 * round). Falls back to the ticks where schedstat is missing.
 */
export function preciseCpuMs(pid: number): number {
  let ns = 0;
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return sampleProcess(pid).cpuMs;
  }
  for (const tid of tasks) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      return sampleProcess(pid).cpuMs; // a thread went away meanwhile, or no schedstat
    }
  }
  return ns / 1e6;
}

/** CPU ms a process spent while `work` ran. */
export async function cpuDuring<T>(pids: readonly number[], work: () => Promise<T>): Promise<{ value: T; cpuMs: number[] }> {
  const before = pids.map((pid) => sampleProcess(pid).cpuMs);
  const value = await work();
  const after = pids.map((pid) => sampleProcess(pid).cpuMs);
  return { value, cpuMs: after.map((ms, i) => ms - (before[i] ?? 0)) };
}

/** The pids of a process's children, grandchildren and so on (Linux: /proc/PID/task/TID/children). */
export function descendants(pid: number): number[] {
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const next = queue.shift() as number;
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${next}/task`);
    } catch {
      continue; // gone
    }
    for (const tid of tasks) {
      let children = '';
      try {
        children = readFileSync(`/proc/${next}/task/${tid}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const child of children.trim().split(/\s+/).filter(Boolean).map(Number)) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

/** The sum of `read` over a process and all its descendants (a gateway's workers, a peer's helpers); a process gone meanwhile counts 0. */
function overTree(pid: number, read: (sample: ProcessSample) => number): number {
  let total = 0;
  for (const each of [pid, ...descendants(pid)]) {
    try {
      total += read(sampleProcess(each));
    } catch {
      // exited in between
    }
  }
  return total;
}

/** Resident memory of a process and all its descendants, in bytes; 0 once it is gone. */
export function treeRssBytes(pid: number): number {
  return overTree(pid, (sample) => sample.rssBytes);
}

/** User + system CPU ms of a process and all its descendants (from /proc/PID/stat ticks). */
export function treeCpuMs(pid: number): number {
  return overTree(pid, (sample) => sample.cpuMs);
}
