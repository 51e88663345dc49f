import { readFileSync } from 'node:fs';

/** `zombie`: exited, but its parent has not reaped it yet, so the pid still exists. */
export type ProcessState = 'running' | 'zombie' | 'gone';

/** What the kernel says about `pid` (Linux: /proc; elsewhere kill(pid, 0)). */
export function processState(pid: number): ProcessState {
  try {
    // /proc/<pid>/stat: "pid (comm) S ..."; comm may contain spaces or ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2) === 'Z' ? 'zombie' : 'running';
  } catch {
    if (process.platform === 'linux') return 'gone';
  }
  try {
    process.kill(pid, 0);
    return 'running';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? 'running' : 'gone';
  }
}

/**
 * True while `pid` runs. A zombie counts as not running: a postmaster whose
 * launcher was SIGKILLed is reparented to PID 1, which may reap it late (here
 * ~1.8 s, measured) or never (a container whose PID 1 is not an init).
 */
export function processAlive(pid: number): boolean {
  return processState(pid) === 'running';
}

/**
 * Polls until `pid` has exited (`until: 'exited'`, zombies count) or is gone
 * from the process table (`'reaped'`); false when `timeoutMs` passes first.
 */
export async function waitForExit(pid: number, timeoutMs: number, until: 'exited' | 'reaped' = 'exited'): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const done = (): boolean => (until === 'exited' ? !processAlive(pid) : processState(pid) === 'gone');
  while (!done()) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return true;
}
