// A container's end as a container runtime brings it: SIGKILL to its process and everything that process started
// (the runtime kills the container's cgroup). Killing only the process would leave its children running, e.g. the
// etcd a scheduler replica runs as a child, still holding its ports and its data.
import { readdirSync, readFileSync } from 'node:fs';
import { waitFor } from './wait.js';

/** SIGKILLs `pid` and every process below it, and resolves once none of them runs any more. */
export async function killProcessTree(pid: number, timeoutMs = 10_000): Promise<void> {
  const tree = [pid, ...descendants(pid)];
  for (const member of tree) killQuietly(member);
  await waitFor(() => tree.every((member) => !alive(member)), { what: `process ${pid} and its children to be gone`, timeoutMs, intervalMs: 50 });
}

/** Every process below `pid` (from /proc), children before their own children. */
function descendants(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // "<pid> (<comm>) <state> <ppid> …": comm may hold spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
  }
  const out: number[] = [];
  for (let queue = [pid]; queue.length; ) {
    const children = queue.flatMap((p) => parents.get(p) ?? []);
    out.push(...children);
    queue = children;
  }
  return out;
}

/** Whether `pid` still runs (a zombie waiting to be reaped does not). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
