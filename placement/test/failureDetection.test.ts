// Hosts that vanish without saying goodbye: a frozen sidecar process (SIGSTOP: its TCP connection stays open,
// only keepalive can tell), a killed one (SIGKILL), and one that stops acknowledging rounds.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { grpcClientChannelOptions } from '@tapr/lib';
import { issueTestSvid, waitFor } from '@tapr/lib/testing';
import { placementId, startPlacement, type RunningPlacement } from './harness.js';
import type { SimulatedSidecar } from './simulatedSidecar.js';

const fixture = path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures', 'sidecarProcess.mjs');

describe('placement failure detection', () => {
  let placement: RunningPlacement;
  let dir: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    placement = await startPlacement([
      '--keepalive-time=1s',
      '--keepalive-timeout=1s',
      '--disseminate-timeout=2s',
      '--dissemination-batch-quiet-period=100ms',
      '--dissemination-batch-max-delay=500ms',
      '--settle-quiet-period=100ms',
    ]);
    dir = mkdtempSync(path.join(tmpdir(), 'placement-failure-'));
  });
  afterAll(async () => {
    for (const child of children) {
      child.kill('SIGKILL');
      child.kill('SIGCONT');
    }
    await placement.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts a sidecar in its own process and resolves once it holds a table. */
  async function sidecarProcess(name: string, namespace: string): Promise<ChildProcess> {
    const svid = await issueTestSvid(placement.bundle, { trustDomain: 'public', namespace, appId: 'orders' });
    const files = { CA_FILE: 'ca.pem', CERT_FILE: `${name}.crt`, KEY_FILE: `${name}.key` };
    writeFileSync(path.join(dir, files.CA_FILE), placement.bundle.rootPem);
    writeFileSync(path.join(dir, files.CERT_FILE), svid.certChainPem);
    writeFileSync(path.join(dir, files.KEY_FILE), svid.keyPem);
    const child = spawn(process.execPath, [fixture], {
      cwd: process.cwd(),
      env: {
        ADDRESS: placement.address,
        SERVER_NAME: String(grpcClientChannelOptions(placement.address, placementId)['grpc.ssl_target_name_override'] ?? ''),
        CA_FILE: path.join(dir, files.CA_FILE),
        CERT_FILE: path.join(dir, files.CERT_FILE),
        KEY_FILE: path.join(dir, files.KEY_FILE),
        NAME: name,
        APP_ID: 'orders',
        NAMESPACE: namespace,
        ENTITIES: 'counter',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
      child.once('exit', (code) => reject(new Error(`sidecar process exited early with ${code}`)));
    });
    return child;
  }

  const holdsOnly = (sidecars: SimulatedSidecar[], names: string[]) =>
    sidecars.every((s) => s.hostsOf('counter').join() === names.join()) && new Set(sidecars.map((s) => s.readyVersion)).size === 1;

  describe('when a sidecar process freezes', () => {
    it('drops its host once keepalive pings go unanswered, and disseminates a table without it', async () => {
      const ns = 'frozen';
      const watcher = await placement.sidecar({ name: '10.7.0.1:50002', id: 'orders', namespace: ns, entities: ['counter'] });
      const frozen = await sidecarProcess('10.7.0.2:50002', ns);
      await waitFor(() => holdsOnly([watcher], ['10.7.0.1:50002', '10.7.0.2:50002']), { what: 'both hosts in the table' });

      const stoppedAt = Date.now();
      frozen.kill('SIGSTOP');
      await waitFor(() => holdsOnly([watcher], ['10.7.0.1:50002']), { what: 'the frozen host to leave the table', timeoutMs: 15_000 });
      const detectedMs = Date.now() - stoppedAt;
      // keepalive 1 s + 1 s, then the batched round; never before the first ping could have gone unanswered.
      expect(detectedMs).toBeGreaterThanOrEqual(1000);
      expect(detectedMs).toBeLessThan(8000);
    });
  });

  describe('when a sidecar process is killed', () => {
    it('removes its host as soon as the connection breaks', async () => {
      const ns = 'killed';
      const watcher = await placement.sidecar({ name: '10.8.0.1:50002', id: 'orders', namespace: ns, entities: ['counter'] });
      const victim = await sidecarProcess('10.8.0.2:50002', ns);
      await waitFor(() => holdsOnly([watcher], ['10.8.0.1:50002', '10.8.0.2:50002']), { what: 'both hosts in the table' });
      victim.kill('SIGKILL');
      await waitFor(() => holdsOnly([watcher], ['10.8.0.1:50002']), { what: 'the killed host to leave the table', timeoutMs: 5000 });
    });
  });

  describe('when a sidecar stops acknowledging', () => {
    it('closes it with DeadlineExceeded after the dissemination timeout and completes the round without it', async () => {
      const ns = 'silent';
      const a = await placement.sidecar({ name: '10.8.1.1:50002', id: 'orders', namespace: ns, entities: ['counter'] });
      const silent = await placement.sidecar({ name: '10.8.1.2:50002', id: 'orders', namespace: ns, entities: ['counter'] });
      await waitFor(() => holdsOnly([a, silent], ['10.8.1.1:50002', '10.8.1.2:50002']), { what: 'both hosts in the table' });
      silent.ackEnabled = false;
      const b = await placement.sidecar({ name: '10.8.1.3:50002', id: 'orders', namespace: ns, entities: ['counter'] });
      const status = await waitFor(() => silent.lastStatus, { what: 'the silent sidecar to be closed', timeoutMs: 10_000 });
      expect(status.code).toBe(grpc.status.DEADLINE_EXCEEDED);
      expect(status.details).toMatch(/^dissemination timeout after 2s for version \d+$/);
      await waitFor(() => holdsOnly([a, b], ['10.8.1.1:50002', '10.8.1.3:50002']), { what: 'a table without the silent host', timeoutMs: 10_000 });
    });
  });
});
