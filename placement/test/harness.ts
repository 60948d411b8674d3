// An in-process placement service over mTLS for integration tests: its SVID and the sidecars' come from a test
// trust bundle (no sentry), everything else is the real service (gRPC server, core, metrics, health).
import { PassThrough } from 'node:stream';
import {
  StaticSvidSource,
  controlPlaneId,
  createLogger,
  grpcClientCredentials,
  type Logger,
  type SpiffeId,
} from '@tapr/lib';
import { createTestTrustBundle, issueTestSvid, type TestTrustBundle } from '@tapr/lib/testing';
import type * as grpc from '@grpc/grpc-js';
import { PlacementService } from '../src/app.js';
import { readOptions } from '../src/options.js';
import { SimulatedSidecar, type SidecarOptions } from './simulatedSidecar.js';

export const placementId: SpiffeId = controlPlaneId('placement', 'cluster.local', 'dapr-system');

export class LogCapture {
  readonly lines: string[] = [];
  readonly logger: Logger;
  constructor() {
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => this.lines.push(...chunk.toString().split('\n').filter(Boolean)));
    this.logger = createLogger({ scope: 'dapr.placement', level: 'debug', stream });
  }
  matching(pattern: RegExp): string[] {
    return this.lines.filter((line) => pattern.test(line));
  }
}

export interface RunningPlacement {
  service: PlacementService;
  address: string;
  bundle: TestTrustBundle;
  logs: LogCapture;
  sidecars: SimulatedSidecar[];
  /** Credentials of a sidecar whose certificate says `spiffe://public/ns/<namespace>/<appId>`. */
  credentialsFor(namespace: string, appId: string): Promise<grpc.ChannelCredentials>;
  /** Starts a simulated sidecar with its own mTLS identity (the one it reports, unless `identity` differs). */
  sidecar(options: Omit<SidecarOptions, 'addresses' | 'credentials'> & { identity?: { namespace: string; appId: string } }): Promise<SimulatedSidecar>;
  metric(name: string, labels?: Record<string, string>): Promise<number | undefined>;
  stop(): Promise<void>;
}

export async function startPlacement(flags: string[]): Promise<RunningPlacement> {
  const bundle = await createTestTrustBundle('cluster.local');
  const svid = await issueTestSvid(bundle, placementId);
  const logs = new LogCapture();
  const options = readOptions({
    argv: ['--port=0', '--healthz-port=0', '--metrics-port=0', '--listen-address=127.0.0.1', '--tls-enabled', '--metadata-enabled', ...flags],
    env: { NAMESPACE: 'dapr-system' },
  });
  const service = new PlacementService(options, { logger: logs.logger, svid: { source: new StaticSvidSource(svid), parts: [] } });
  const controller = new AbortController();
  const running = service.run(controller.signal);
  running.catch(() => undefined);
  await service.whenListening();
  await service.health.whenListening();
  const address = `127.0.0.1:${service.port}`;
  const sidecars: SimulatedSidecar[] = [];

  const credentialsFor = async (namespace: string, appId: string) => {
    const own = await issueTestSvid(bundle, { trustDomain: 'public', namespace, appId });
    return grpcClientCredentials({ trustAnchorsPem: () => bundle.rootPem, serverId: placementId, source: new StaticSvidSource(own) });
  };

  return {
    service,
    address,
    bundle,
    logs,
    sidecars,
    credentialsFor,
    async sidecar(options) {
      const identity = options.identity ?? { namespace: options.namespace, appId: options.id };
      const credentials = await credentialsFor(identity.namespace, identity.appId);
      const sidecar = new SimulatedSidecar({ ...options, addresses: [address], credentials, serverId: placementId });
      sidecars.push(sidecar);
      sidecar.start();
      return sidecar;
    },
    async metric(name, labels = {}) {
      const text = await service.registry.metrics();
      const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
      for (const line of text.split('\n')) {
        if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
        if (wanted.every((pair) => line.includes(pair))) return Number(line.split(' ').at(-1));
      }
      return undefined;
    },
    async stop() {
      for (const sidecar of sidecars) sidecar.close();
      controller.abort();
      await running.catch(() => undefined);
    },
  };
}
