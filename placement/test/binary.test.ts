// The built binary as Dapr's tooling runs it (spec §11): exit codes for help, usage and validation errors; the
// framework's flag spellings with an empty environment (no PATH, no HOME); health, state and metrics endpoints;
// SIGINT → exit 0.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { freePort, waitFor } from '@tapr/lib/testing';

const binary = path.resolve('placement/dist/src/main.js');

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [binary, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exit, output: () => output };
}

describe('the placement binary', () => {
  beforeAll(() => {
    if (!existsSync(binary)) throw new Error(`${binary} is missing: build first (npx tsc -b placement)`);
  });

  it.each([
    [['--help'], 0, /--replicationFactor int/],
    [['--no-such-flag'], 2, /unknown|no-such-flag/i],
    [['--keepalive-time=20s'], 1, /invalid value for keepalive-time: value should be between 1s and 10s, got 20s/],
    [['--initial-cluster=a=1:1,b=2:2', '--kubeconfig=/nonexistent/kubeconfig'], 1, /kubeconfig file \/nonexistent\/kubeconfig \(from --kubeconfig\) does not exist/],
  ])('with %j exits %i', async (args, code, pattern) => {
    const ports = ['--port=0', '--healthz-port=0', '--metrics-port=0'];
    const proc = run([...args, ...ports]);
    expect(await proc.exit).toBe(code);
    expect(proc.output()).toMatch(pattern);
  });

  it('runs with Dapr’s test-framework arguments and no PATH or HOME, serves health, state and metrics, and stops on SIGINT with 0', async () => {
    const [port, healthz, metrics] = await Promise.all([freePort(), freePort(), freePort()]);
    const proc = run(
      [
        '--log-level=debug',
        '--id=5f0c2a1e-test',
        `--port=${port}`,
        '--listen-address=127.0.0.1',
        `--healthz-port=${healthz}`,
        '--healthz-listen-address=127.0.0.1',
        `--metrics-port=${metrics}`,
        '--metrics-listen-address=127.0.0.1',
        '--initial-cluster=5f0c2a1e-test=127.0.0.1:1',
        '--tls-enabled=false',
        '--metadata-enabled=true',
        '--max-api-level=10',
        '--min-api-level=0',
      ],
      { NAMESPACE: 'default' },
    );
    await waitFor(async () => (await fetch(`http://127.0.0.1:${healthz}/healthz`).catch(() => undefined))?.status === 200, {
      what: 'healthz 200',
      timeoutMs: 25_000,
    });
    const state = await waitFor(async () => {
      const response = await fetch(`http://127.0.0.1:${healthz}/placement/state`);
      return response.status === 200 ? response.text() : undefined;
    }, { what: 'the state endpoint' });
    expect(state).toBe('{}');
    expect(await fetch(`http://127.0.0.1:${healthz}/other`).then((r) => r.status)).toBe(404);
    const text = await fetch(`http://127.0.0.1:${metrics}/metrics`).then((r) => r.text());
    expect(text).toMatch(/^dapr_placement_leader_status 1$/m);
    expect(text).toMatch(/^dapr_placement_raft_leader_status 1$/m);
    expect(proc.output()).toMatch(/Flag --max-api-level has been deprecated/);
    proc.child.kill('SIGINT');
    expect(await proc.exit).toBe(0);
  });
});
