// Starting and stopping a local control plane (etcd + kube-apiserver + kube-controller-manager) from TypeScript:
// the supervisor process (supervisor.ts) owns the servers; this module launches it, waits for `cluster.json`,
// and stops it. Used by jest's global setup and by `make cluster-up` / `make cluster-down`.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.js';
import { testingAssetsDir } from './binaries.js';

export interface ClusterInfo {
  dir: string;
  /** Admin kubeconfig (client certificate in group system:masters). */
  kubeconfig: string;
  server: string;
  /** The CA that signed the API server's serving certificate and the client certificates. */
  caCertFile: string;
  serviceAccountIssuer: string;
  supervisorPid: number;
  pids: Record<string, number>;
  startedInMs: number;
  /** Present when the cluster runs a real node (`--node`, docs/real-node.md). */
  node?: { name: string; ip: string };
}

export interface StartOptions {
  /** Directory for certificates, etcd data, logs and the kubeconfig; a fresh temp dir when omitted. */
  dir?: string;
  /** Stop the cluster when this process exits (tests pass their own pid). */
  watchPid?: number;
  /** Delete `dir` when the cluster stops (default: only for temp dirs). */
  removeDirOnExit?: boolean;
  /** Also run a real node: containerd, kubelet, kube-proxy, kube-scheduler, CoreDNS (root; docs/real-node.md). */
  node?: boolean;
  /** Includes a first build of the binaries when they are missing. */
  timeoutMs?: number;
}

// Always the compiled supervisor (lib/dist), also when this module runs from its TypeScript source under ts-jest.
const supervisorScript = path.join(testingAssetsDir, '..', 'dist', 'src', 'testing', 'supervisor.js');

export function readClusterInfo(dir: string): ClusterInfo | undefined {
  const file = path.join(dir, 'cluster.json');
  if (!existsSync(file)) return undefined;
  const info = JSON.parse(readFileSync(file, 'utf8')) as ClusterInfo;
  return isAlive(info.supervisorPid) ? info : undefined;
}

export async function startLocalCluster(options: StartOptions = {}): Promise<ClusterInfo> {
  if (!existsSync(supervisorScript)) throw new Error(`${supervisorScript} is missing: build lib first (npx tsc -b lib)`);
  const dir = options.dir ?? mkdtempSync(path.join(tmpdir(), 'tapr-cluster-'));
  mkdirSync(path.join(dir, 'logs'), { recursive: true });
  if (readClusterInfo(dir)) throw new Error(`a local cluster is already running from ${dir}; stop it first (make cluster-down)`);
  const args = [supervisorScript, dir];
  if (options.watchPid) args.push('--watch-pid', String(options.watchPid));
  if (options.removeDirOnExit ?? !options.dir) args.push('--remove-dir-on-exit');
  if (options.node) args.push('--node');
  const out = openSync(path.join(dir, 'logs', 'supervisor.log'), 'a');
  // Detached: the supervisor leads its own process group, so stopping the group reaches every server it started,
  // and a Ctrl-C aimed at the test runner does not kill the servers before the supervisor can stop them in order.
  const supervisor = spawn(process.execPath, args, { detached: true, stdio: ['ignore', out, out] });
  supervisor.unref();
  const gone = new AbortController();
  const exited = new Promise<never>((_, reject) =>
    supervisor.once('exit', (code) => {
      gone.abort();
      reject(new Error(`the local cluster failed to start (supervisor exit ${code}); see ${path.join(dir, 'logs')}: ${failure(dir)}`));
    }),
  );
  exited.catch(() => undefined);
  const ready = waitFor(() => readClusterInfo(dir), {
    timeoutMs: options.timeoutMs ?? 30 * 60_000,
    intervalMs: 200,
    what: 'the local cluster',
    signal: gone.signal,
  });
  try {
    return await Promise.race([ready, exited]);
  } finally {
    supervisor.removeAllListeners('exit');
  }
}

/** Stops the cluster started from `dir` and waits until all its processes are gone. */
export async function stopLocalCluster(info: Pick<ClusterInfo, 'supervisorPid' | 'pids'>): Promise<void> {
  signalGroup(info.supervisorPid, 'SIGTERM');
  const allGone = () => [info.supervisorPid, ...Object.values(info.pids)].every((pid) => !isAlive(pid));
  try {
    await waitFor(allGone, { timeoutMs: 20_000, what: 'the local cluster to stop' });
  } catch {
    signalGroup(info.supervisorPid, 'SIGKILL');
    for (const pid of Object.values(info.pids)) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
}

function failure(dir: string): string {
  const file = path.join(dir, 'failed');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : 'no reason recorded';
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

function isAlive(pid: number): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
