// One long build at a time on this machine, across processes: `npm run image`, the image test and
// the cluster tests may all ask for the same images at once, and two buildah builds of one tag would
// race (and halve the machine's two cores each); test files running side by side may all want the
// same Python venv (test/support/python.ts).
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

export class LockTimeoutError extends Error {
  override name = 'LockTimeoutError';
}

/** Runs `work` holding the lock file `path` (its holder's pid inside); a dead holder's lock is taken over. */
export async function withLock<T>(path: string, timeoutMs: number, work: () => Promise<T>, onWait?: (holder: number) => void): Promise<T> {
  mkdirSync(dirname(path), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let holder = 0;
      let age = 0;
      try {
        holder = Number(readFileSync(path, 'utf8')) || 0;
        age = Date.now() - statSync(path).mtimeMs;
      } catch {
        continue; // released meanwhile
      }
      // An empty lock may be mid-write: taken over only once it is a few seconds old.
      if (holder > 0 ? !alive(holder) : age > 5_000) rmSync(path, { force: true });
      else if (Date.now() > deadline) throw new LockTimeoutError(`timed out after ${timeoutMs} ms waiting for ${path} (held by pid ${holder})`);
      else {
        if (!told) onWait?.(holder);
        told = true;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }
  try {
    return await work();
  } finally {
    rmSync(path, { force: true });
  }
}
