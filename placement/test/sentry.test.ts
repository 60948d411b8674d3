// Mutual TLS with sentry certificates, end to end: the real sentry binary (self-hosted, generating its CA) issues
// the placement binary's SVID (`dapr-placement`) and the simulated sidecars' SVIDs; sidecars verify placement's
// SPIFFE ID, placement authorises each report by the sidecar's certificate.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { SentrySvidSource, controlPlaneId, grpcClientCredentials, silentLogger } from '@tapr/lib';
import { freePort, waitFor } from '@tapr/lib/testing';
import { SimulatedSidecar } from './simulatedSidecar.js';

const placementMain = path.resolve('placement/dist/src/main.js');
const sentryMain = path.resolve('sentry/dist/src/main.js');

function start(main: string, args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [main, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

const healthy = async (port: number) => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.status === 200;

describe('placement with SVIDs from the real sentry', () => {
  let dir: string;
  let sentry: ReturnType<typeof start>;
  let placement: ReturnType<typeof start>;
  let placementPort: number;
  let sentryPort: number;
  const sources: Array<{ controller: AbortController }> = [];
  const sidecars: SimulatedSidecar[] = [];

  beforeAll(async () => {
    for (const main of [placementMain, sentryMain]) if (!existsSync(main)) throw new Error(`${main} is missing: build first (npx tsc -b)`);
    dir = mkdtempSync(path.join(tmpdir(), 'placement-sentry-'));
    const config = path.join(dir, 'sentry.yaml');
    writeFileSync(config, '');
    let sentryHealthz: number;
    let sentryMetrics: number;
    [sentryPort, sentryHealthz, sentryMetrics] = await Promise.all([freePort(), freePort(), freePort()]);
    sentry = start(
      sentryMain,
      [`-port=${sentryPort}`, `-healthz-port=${sentryHealthz}`, `-metrics-port=${sentryMetrics}`, '-listen-address=127.0.0.1', `-issuer-credentials=${dir}`, `-config=${config}`],
      { NAMESPACE: 'default' },
    );
    await waitFor(() => healthy(sentryHealthz), { what: 'sentry to be healthy', timeoutMs: 60_000 }).catch((error: Error) => {
      throw new Error(`${error.message}\n${sentry.output()}`);
    });

    const [healthz, metrics] = await Promise.all([freePort(), freePort()]);
    placementPort = await freePort();
    placement = start(
      placementMain,
      [
        `--port=${placementPort}`,
        '--listen-address=127.0.0.1',
        `--healthz-port=${healthz}`,
        `--metrics-port=${metrics}`,
        '--tls-enabled',
        `--sentry-address=127.0.0.1:${sentryPort}`,
        `--trust-anchors-file=${path.join(dir, 'ca.crt')}`,
        '--trust-domain=localhost',
        '--settle-quiet-period=100ms',
      ],
      { NAMESPACE: 'default' },
    );
    await waitFor(() => healthy(healthz), { what: 'placement (with its SVID) to be healthy', timeoutMs: 60_000 }).catch((error: Error) => {
      throw new Error(`${error.message}\n${placement.output()}`);
    });
  });

  afterAll(async () => {
    for (const sidecar of sidecars) sidecar.close();
    for (const source of sources) source.controller.abort();
    for (const proc of [placement, sentry]) {
      if (proc && proc.child.exitCode === null) {
        proc.child.kill('SIGINT');
        await new Promise((resolve) => proc.child.once('exit', resolve));
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  /** A sidecar whose SVID (app `certAppId`) comes from sentry, like daprd's. */
  async function sidecar(name: string, id: string, certAppId = id): Promise<SimulatedSidecar> {
    const roots = () => readFileSync(path.join(dir, 'ca.crt'), 'utf8');
    const source = new SentrySvidSource({
      sentryAddress: `127.0.0.1:${sentryPort}`,
      trustAnchors: roots,
      trustDomain: 'localhost',
      controlPlaneNamespace: 'default',
      id: certAppId,
      namespace: 'default',
      logger: silentLogger(),
    });
    const controller = new AbortController();
    sources.push({ controller });
    source.run(controller.signal).catch(() => undefined);
    await source.ready(controller.signal);
    const serverId = controlPlaneId('placement', 'localhost', 'default');
    const credentials = grpcClientCredentials({ trustAnchorsPem: roots, serverId, source });
    const sim = new SimulatedSidecar({ addresses: [`127.0.0.1:${placementPort}`], credentials, serverId, name, id, namespace: 'default', entities: ['counter'] });
    sidecars.push(sim);
    sim.start();
    return sim;
  }

  it('serves sidecars holding sentry SVIDs, and they agree on the table', async () => {
    const a = await sidecar('10.30.0.1:50002', 'orders');
    const b = await sidecar('10.30.0.2:50002', 'billing');
    await waitFor(() => a.hostsOf('counter').length === 2 && a.readyVersion !== undefined && a.readyVersion === b.readyVersion, {
      what: 'both sidecars to hold a two-host table',
      timeoutMs: 20_000,
    });
    expect(a.owner('counter', 'order-17')).toBe(b.owner('counter', 'order-17'));
    expect(placement.output()).toMatch(/obtained an SVID from sentry.*spiffe:\/\/localhost\/ns\/default\/dapr-placement/);
  });

  it('refuses a sidecar reporting an app ID its sentry certificate does not carry', async () => {
    const impostor = await sidecar('10.30.0.3:50002', 'orders', 'billing');
    const status = await waitFor(() => impostor.lastStatus, { what: 'the impostor to be refused', timeoutMs: 20_000 });
    expect(status.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(status.details).toBe("provided app ID orders doesn't match the one in the SPIFFE ID (billing)");
  });
});
