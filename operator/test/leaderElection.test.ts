// Several operator replicas (separate processes) share the operator.dapr.io Lease: one leads and reconciles
// Services; when it is killed another takes over within the lease time, and a graceful stop hands over at once.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppsV1Api, CoordinationV1Api, CoreV1Api } from '@kubernetes/client-node';
import { controlPlaneId } from '@tapr/lib';
import { adminKubeConfig, createTestNamespace, deleteTestNamespace, issueTestSvid, testCluster, waitFor } from '@tapr/lib/testing';
import { defaultLeaseDurationMs, defaultRetryPeriodMs } from '@tapr/lib/kube';
import { createTestTrustBundle } from './harness.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const replicaScript = path.resolve(here, '..', 'dist', 'test', 'fixtures', 'replica.js');

describe('operator replicas', () => {
  const kc = adminKubeConfig();
  const leases = kc.makeApiClient(CoordinationV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const children = new Map<string, ChildProcess>();
  let controlPlane: string;
  let ns: string;
  let dir: string;
  let svidFile: string;

  const holder = async () =>
    (await leases.readNamespacedLease({ name: 'operator.dapr.io', namespace: controlPlane }).catch(() => undefined))?.spec?.holderIdentity ?? '';

  function start(name: string): ChildProcess {
    const child = spawn(process.execPath, [replicaScript], {
      env: { PATH: process.env['PATH'], KUBECONFIG: testCluster().kubeconfig, NAMESPACE: controlPlane, SVID_FILE: svidFile, REPLICA: name },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code, signal) => {
      if (process.env['TAPR_TEST_LOGS']) process.stdout.write(`replica ${name} exited (${code ?? signal}):\n${output}\n`);
    });
    children.set(name, child);
    return child;
  }

  function exited(child: ChildProcess): Promise<number | null> {
    return child.exitCode !== null || child.signalCode !== null ? Promise.resolve(child.exitCode) : new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  beforeAll(async () => {
    if (!existsSync(replicaScript)) throw new Error(`${replicaScript} is missing: build the operator first (npx tsc -b operator)`);
    const bundle = await createTestTrustBundle();
    [controlPlane, ns] = await Promise.all([createTestNamespace('cp-ha'), createTestNamespace('ha-apps')]);
    dir = mkdtempSync(path.join(tmpdir(), 'operator-ha-'));
    svidFile = path.join(dir, 'svid.json');
    writeFileSync(svidFile, JSON.stringify(await issueTestSvid(bundle, controlPlaneId('operator', bundle.trustDomain, controlPlane))));
  });

  afterAll(async () => {
    for (const child of children.values()) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await Promise.all([...children.values()].map(exited));
    await Promise.all([deleteTestNamespace(controlPlane), deleteTestNamespace(ns)]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('elects one leader, fails over after the leader is killed within the lease time, and hands over at once on a graceful stop', async () => {
    const a = start('a');
    await waitFor(async () => (await holder()).startsWith('a_'), { what: 'replica a to take the lease', timeoutMs: 30_000 });
    const b = start('b');
    // b runs but does not lead while a renews.
    await new Promise((resolve) => setTimeout(resolve, 3 * defaultRetryPeriodMs));
    expect(await holder()).toMatch(/^a_/);

    const killedAt = Date.now();
    a.kill('SIGKILL');
    await waitFor(async () => (await holder()).startsWith('b_'), { what: 'replica b to take over', timeoutMs: defaultLeaseDurationMs + 15_000, intervalMs: 50 });
    const failoverMs = Date.now() - killedAt;
    process.stdout.write(`leader failover after SIGKILL: ${failoverMs} ms (lease ${defaultLeaseDurationMs} ms, retry ${defaultRetryPeriodMs} ms)\n`);
    // b counts the lease duration from when it saw the last renewal (client-go's rule, immune to clock skew): that is
    // up to one (jittered) retry period after a's renewal, and b notices expiry up to one more retry period later.
    expect(failoverMs).toBeLessThanOrEqual(defaultLeaseDurationMs + 3 * defaultRetryPeriodMs);

    // The new leader runs the Service reconciler.
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'after-failover', namespace: ns },
        spec: {
          replicas: 0,
          selector: { matchLabels: { app: 'after-failover' } },
          template: {
            metadata: { labels: { app: 'after-failover' }, annotations: { 'dapr.io/enabled': 'true', 'dapr.io/app-id': 'after-failover' } },
            spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] },
          },
        },
      },
    });
    await waitFor(() => core.readNamespacedService({ name: 'after-failover-dapr', namespace: ns }).catch(() => undefined), {
      what: 'the Service created by the new leader',
    });

    const c = start('c');
    await new Promise((resolve) => setTimeout(resolve, 2 * defaultRetryPeriodMs));
    const stoppedAt = Date.now();
    b.kill('SIGTERM');
    await waitFor(async () => (await holder()).startsWith('c_'), { what: 'replica c to take over', timeoutMs: defaultLeaseDurationMs + 15_000, intervalMs: 50 });
    const handoverMs = Date.now() - stoppedAt;
    process.stdout.write(`leader handover after SIGTERM (lease released): ${handoverMs} ms\n`);
    expect(await exited(b)).toBe(0);
    expect(handoverMs).toBeLessThan(defaultLeaseDurationMs);
    c.kill('SIGTERM');
    expect(await exited(c)).toBe(0);
  });
});
