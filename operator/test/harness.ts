// Running the operator in the test process against the real local API server, and talking to it as a sidecar
// would: gRPC over mutual TLS with SVIDs from a test trust bundle (what sentry would issue).
import * as grpc from '@grpc/grpc-js';
import {
  controlPlaneId,
  createLogger,
  createMetricsRegistry,
  grpcClientChannelOptions,
  grpcClientCredentials,
  protos,
  Readiness,
  silentLogger,
  StaticSvidSource,
  type Logger,
  type Registry,
  type SpiffeId,
} from '@tapr/lib';
import { createTestTrustBundle, issueTestSvid, testCluster, waitFor, type TestTrustBundle } from '@tapr/lib/testing';
import { KubeHttp, fromKubeconfigFile, type ClusterAccess } from '@tapr/lib/kube';
import { createOperatorMetrics } from '../src/metrics.js';
import { Operator, type OperatorDeps, type OperatorSettings } from '../src/operator.js';
import { loopbackOperatorSettings } from './fixtures/loopbackSettings.js';

export const controlPlaneNamespace = 'dapr-system';

export interface RunningOperator {
  operator: Operator;
  readiness: Readiness;
  registry: Registry;
  port: number;
  /** The control plane namespace (part of the operator's SPIFFE ID). */
  namespace: string;
  http: KubeHttp;
  stop(): Promise<void>;
}

export function testLogger(name: string): Logger {
  return process.env['TAPR_TEST_LOGS'] ? createLogger({ scope: `test.${name}`, level: 'debug' }) : silentLogger();
}

export async function startOperator(
  bundle: TestTrustBundle,
  settings: Partial<OperatorSettings> = {},
  deps: Partial<OperatorDeps> & { access?: ClusterAccess } = {},
): Promise<RunningOperator> {
  const namespace = settings.namespace ?? controlPlaneNamespace;
  const svid = new StaticSvidSource(await issueTestSvid(bundle, controlPlaneId('operator', bundle.trustDomain, namespace), { dnsNames: [`dapr-webhook.${namespace}.svc`, 'localhost'] }));
  const http = new KubeHttp(deps.access ?? fromKubeconfigFile(testCluster().kubeconfig));
  const readiness = new Readiness();
  const registry = createMetricsRegistry();
  const operator = new Operator(
    loopbackOperatorSettings(namespace, settings),
    { http, svid, logger: testLogger('operator'), readiness, metrics: createOperatorMetrics(registry), ...deps },
  );
  const controller = new AbortController();
  const running = operator.run(controller.signal);
  running.catch(() => undefined);
  await waitFor(() => readiness.healthy, { what: `operator readiness (${JSON.stringify(readiness.pending())})`, timeoutMs: 60_000 });
  return {
    operator,
    readiness,
    registry,
    port: operator.api.port,
    namespace,
    http,
    async stop() {
      controller.abort();
      await running;
      http.close();
    },
  };
}

export type OperatorClient = InstanceType<typeof protos.operatorGrpc.OperatorClient>;

/** A client presenting an SVID for `ns/appId` (or no certificate at all), verifying the server's SPIFFE ID. */
export async function operatorClient(
  bundle: TestTrustBundle,
  server: Pick<RunningOperator, 'port' | 'namespace'>,
  id?: { namespace: string; appId: string },
): Promise<OperatorClient> {
  const source = id ? new StaticSvidSource(await issueTestSvid(bundle, { trustDomain: 'public', ...id } satisfies SpiffeId)) : undefined;
  const serverId = controlPlaneId('operator', bundle.trustDomain, server.namespace);
  const credentials = grpcClientCredentials({ trustAnchorsPem: () => bundle.rootPem, serverId, source });
  const address = `127.0.0.1:${server.port}`;
  return new protos.operatorGrpc.OperatorClient(address, credentials, grpcClientChannelOptions(address, serverId));
}

export { createTestTrustBundle };

/** Calls a unary method and returns a promise. */
export function call<Req, Res>(client: OperatorClient, method: string, request: Req, timeoutMs = 10_000): Promise<Res> {
  return new Promise((resolve, reject) => {
    const fn = (client as unknown as Record<string, (req: Req, meta: grpc.Metadata, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: Res) => void) => void>)[method]!;
    fn.call(client, request, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

export const text = (bytes: Uint8Array | string): string => (typeof bytes === 'string' ? Buffer.from(bytes, 'base64').toString() : Buffer.from(bytes).toString());
export const json = (bytes: Uint8Array | string): Record<string, any> => JSON.parse(text(bytes)) as Record<string, any>;
