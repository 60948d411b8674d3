// A test run that dies must not leave etcd or the API server running: the supervisor watches the test runner.
import { spawn } from 'node:child_process';
import { startLocalCluster, stopLocalCluster, waitFor } from '@tapr/lib/testing';
import { existsSync } from 'node:fs';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('a local cluster', () => {
  it('stops all its processes and removes its directory when the process it watches dies', async () => {
    const runner = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    const info = await startLocalCluster({ watchPid: runner.pid });
    const pids = [info.supervisorPid, ...Object.values(info.pids)];
    try {
      expect(pids.every(alive)).toBe(true);
      runner.kill('SIGKILL');
      await waitFor(() => pids.every((pid) => !alive(pid)), { timeoutMs: 30_000, what: 'every cluster process to exit' });
      expect(existsSync(info.dir)).toBe(false);
    } finally {
      runner.kill('SIGKILL');
      if (pids.some(alive)) await stopLocalCluster(info);
    }
  });
});
