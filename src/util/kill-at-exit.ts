/**
 * Child processes that must not outlive this one (servers started by tests, benchmarks and
 * the fault harness): each is sent SIGKILL from a process 'exit' handler if it still runs.
 */
import type { ChildProcess } from 'node:child_process';

const live = new Set<ChildProcess>();
let hooked = false;

/** SIGKILLs `child` when this process exits, unless it has exited by then. */
export function killAtExit(child: ChildProcess): void {
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const c of live) {
        try {
          c.kill('SIGKILL');
        } catch {
          // gone already
        }
      }
    });
  }
  live.add(child);
  child.once('exit', () => live.delete(child));
}
