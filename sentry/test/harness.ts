// Running the real sentry binary (sentry/dist, built by `npm test` / `npx tsc -b sentry`) and talking to it as its
// clients do: SignCertificate over TLS, verifying sentry's SPIFFE ID against the trust anchors.
import * as grpc from '@grpc/grpc-js';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlPlaneId, grpcClientChannelOptions, grpcClientCredentials, protos } from '@tapr/lib';
import { freePort, rbacFromDocs, serviceAccountKubeconfig, waitFor, type ServiceAccountKubeconfig } from '@tapr/lib/testing';
import { removeTempDirs } from '../src/testing/tempDirs.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const sentryMain = path.resolve(here, '..', 'dist', 'src', 'main.js');

export interface SentryProcess {
  grpcPort: number;
  healthzPort: number;
  metricsPort: number;
  child: ChildProcess;
  output(): string;
  healthz(): Promise<number>;
  metrics(): Promise<string>;
  /** SIGINT, then the exit code. */
  stop(): Promise<number | null>;
}

export interface StartOptions {
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Wait for /healthz 200 (default true). */
  waitHealthy?: boolean;
}

const running = new Set<SentryProcess>();

export async function startSentry(options: StartOptions = {}): Promise<SentryProcess> {
  const [grpcPort, healthzPort, metricsPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const child = spawn(
    process.execPath,
    [
      sentryMain,
      `-port=${grpcPort}`,
      `-healthz-port=${healthzPort}`,
      `-metrics-port=${metricsPort}`,
      '-listen-address=127.0.0.1',
      '-healthz-listen-address=127.0.0.1',
      '-metrics-listen-address=127.0.0.1',
      ...(options.args ?? []),
    ],
    { env: { PATH: process.env['PATH'], ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const get = async (port: number, urlPath: string) => {
    const response = await fetch(`http://127.0.0.1:${port}${urlPath}`);
    return { status: response.status, body: await response.text() };
  };
  const sentry: SentryProcess = {
    grpcPort,
    healthzPort,
    metricsPort,
    child,
    output: () => output,
    healthz: async () => (await get(healthzPort, '/healthz')).status,
    metrics: async () => (await get(metricsPort, '/metrics')).body,
    stop: async () => {
      running.delete(sentry);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      return exited;
    },
  };
  running.add(sentry);
  if (options.waitHealthy ?? true) {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`sentry exited with ${child.exitCode}:\n${output}`);
        return (await sentry.healthz()) === 200;
      },
      { timeoutMs: 60_000, what: 'sentry /healthz 200' },
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n--- sentry output ---\n${output}`);
    });
  }
  return sentry;
}

/** Stops every sentry a test file started (afterAll). */
export async function stopAllSentries(): Promise<void> {
  await Promise.all([...running].map((s) => s.stop()));
  removeTempDirs();
}

export interface SignOptions {
  id: string;
  namespace: string;
  csr: string | Buffer;
  token?: string;
  trustDomain?: string;
  validator?: number;
}

type Response = InstanceType<typeof protos.sentry.SignCertificateResponse>;

/** One SignCertificate call to sentry at `port`, which must present `spiffe://<td>/ns/<ns>/dapr-sentry`. */
export function signCertificate(
  port: number,
  sentry: { trustAnchorsPem: string; trustDomain: string; namespace: string },
  options: SignOptions,
): Promise<Response> {
  const serverId = controlPlaneId('sentry', sentry.trustDomain, sentry.namespace);
  const credentials = grpcClientCredentials({ trustAnchorsPem: () => sentry.trustAnchorsPem, serverId });
  const client = new protos.sentryGrpc.CAClient(`127.0.0.1:${port}`, credentials, grpcClientChannelOptions(`127.0.0.1:${port}`, serverId));
  const request = new protos.sentry.SignCertificateRequest();
  request.setId(options.id);
  request.setNamespace(options.namespace);
  request.setCertificateSigningRequest(Buffer.from(options.csr));
  if (options.token) request.setToken(options.token);
  if (options.trustDomain) request.setTrustDomain(options.trustDomain);
  if (options.validator !== undefined) request.setTokenValidator(options.validator as 0);
  return new Promise((resolve, reject) => {
    client.signCertificate(request, new grpc.Metadata(), { deadline: Date.now() + 20_000 }, (error, response) => {
      client.close();
      if (error) reject(error);
      else resolve(response as Response);
    });
  });
}

/** The gRPC error of a call that must fail. */
export async function refusal(call: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await call;
  } catch (error) {
    return error as grpc.ServiceError;
  }
  throw new Error('expected the call to be refused');
}

export function leafPem(response: Response): string {
  const chain = Buffer.from(response.getWorkloadCertificate_asU8()).toString();
  return chain.slice(0, chain.indexOf('-----END CERTIFICATE-----') + '-----END CERTIFICATE-----'.length) + '\n';
}

/** The RBAC block of docs/sentry.md for a control-plane namespace (cluster-scoped names suffixed per test run). */
export function documentedRbac(namespace: string): string {
  return rbacFromDocs(path.resolve(here, '..', '..', 'docs', 'sentry.md'))
    .replaceAll('namespace: dapr-system', `namespace: ${namespace}`)
    .replace(/kind: ClusterRole\nmetadata:\n  name: dapr-sentry/, `kind: ClusterRole\nmetadata:\n  name: dapr-sentry-${namespace}`)
    .replace(/kind: ClusterRoleBinding\nmetadata:\n  name: dapr-sentry/, `kind: ClusterRoleBinding\nmetadata:\n  name: dapr-sentry-${namespace}`)
    .replace(/roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: dapr-sentry/, `roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: dapr-sentry-${namespace}`);
}

const applied = new Map<string, ServiceAccountKubeconfig>();

/**
 * Sets up the documented RBAC in `namespace` and returns a kubeconfig file for the `dapr-sentry` service account,
 * so sentry runs with exactly the permissions the docs list.
 */
export async function sentryKubeconfig(namespace: string): Promise<string> {
  const access = await serviceAccountKubeconfig({ namespace, serviceAccount: 'dapr-sentry', rbac: documentedRbac(namespace) });
  applied.set(namespace, access);
  return access.file;
}

export async function removeClusterRbac(namespace: string): Promise<void> {
  await applied.get(namespace)?.remove();
  applied.delete(namespace);
}
