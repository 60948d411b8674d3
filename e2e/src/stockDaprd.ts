// Dapr's own sidecar, run for an injected Pod: the daprd container that tapr's injector put into the pod is started
// by the local kubelet (e2e/src/localKubelet.ts) with the built binary (lib/testing/build-binaries.sh daprd) in place
// of the image's /daprd. Its args, env, volumes and tokens all come from the injection; what the mapping changes is
// only what a node and cluster network would have supplied (docs/stock-daprd.md):
//   - Service addresses (dapr-api, dapr-sentry, dapr-placement-server) → the local services' 127.0.0.1 ports;
//   - daprd's own ports → free local ports (every sidecar shares 127.0.0.1 here, unlike pods);
//   - DAPR_SENTRY_TOKEN_FILE → the projected sentry token's local file (daprd reads a fixed path otherwise);
//   - KUBECONFIG → the pod's service-account token as a kubeconfig, for the built-in Kubernetes secret store (which
//     looks for in-cluster config at fixed paths first, then $KUBECONFIG);
//   - DAPR_HOST_IP → 127.0.0.1, the pod's address here (in a pod daprd finds its own address on eth0);
//   - DAPR_UNSAFE_SKIP_CONTAINER_UID_GID_CHECK → true: processes run as the test's user, which is root in CI, where a
//     node would run the container as its non-root user.
import { spawnSync } from 'node:child_process';
import type { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import type { Svid } from '@tapr/lib';
import { ensureBinaries, freePort, waitFor } from '@tapr/lib/testing';
import { serviceAccountKubeconfig, type ContainerMapping, type LocalKubelet, type MountMap, type RunningContainer } from './localKubelet.js';

export interface DaprdPorts {
  http: number;
  grpc: number;
  internal: number;
  public: number;
  metrics: number;
}

export interface ControlPlaneAddresses {
  /** The control-plane namespace (the Service names in the injected args live there). */
  namespace: string;
  operator?: string;
  sentry: string;
  placement?: string;
  scheduler?: string;
}

export interface StockDaprdOptions {
  kubelet: LocalKubelet;
  pod: V1Pod;
  controlPlane: ControlPlaneAddresses;
  /** The API server URL, for the pod's service-account kubeconfig. */
  server: string;
  /** Where the app listens locally (replaces --app-port); none for a sidecar without an app. */
  appPort?: number;
  /** Extra environment, on top of the pod's (e.g. DAPR_API_TOKEN for tests of it). */
  env?: Record<string, string>;
  /** Wait for /v1.0/healthz to answer 204 (default), or only start the process. */
  waitHealthy?: boolean;
  timeoutMs?: number;
}

/** The stock daprd binary, built on first use (minutes), and its version (`daprd --version`). */
export function stockDaprdBinary(): { path: string; version: string } {
  const binary = ensureBinaries('daprd').daprd;
  const result = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${binary} --version failed (${result.status}): ${result.stderr}`);
  return { path: binary, version: result.stdout.trim() };
}

export class StockDaprd {
  private constructor(
    readonly pod: V1Pod,
    readonly ports: DaprdPorts,
    readonly running: RunningContainer,
    private readonly options: StockDaprdOptions,
  ) {}

  /** The container restarted (what the kubelet does after an exit or a pod restart): stop, then start anew. */
  async restart(): Promise<StockDaprd> {
    await this.stop();
    return StockDaprd.start(this.options);
  }

  /** The certificate chain daprd serves on its internal gRPC port (mTLS), seen by a client presenting `client`. */
  servingChain(client: Svid): Promise<X509Certificate[]> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({
        host: '127.0.0.1',
        port: this.ports.internal,
        cert: client.certChainPem,
        key: client.keyPem,
        ca: client.trustAnchorsPem,
        ALPNProtocols: ['h2'],
        // The server's identity is its SPIFFE ID (checked by the caller), not a DNS name.
        checkServerIdentity: () => undefined,
      });
      socket.once('secureConnect', () => {
        const chain: X509Certificate[] = [];
        let cert = socket.getPeerX509Certificate();
        while (cert && !chain.some((c) => c.fingerprint256 === cert!.fingerprint256)) {
          chain.push(cert);
          cert = cert.issuerCertificate;
        }
        socket.destroy();
        resolve(chain);
      });
      socket.once('error', reject);
    });
  }

  get appId(): string {
    return this.pod.metadata!.annotations!['dapr.io/app-id'] ?? this.pod.metadata!.name!;
  }

  /** The sidecar's HTTP API (`/v1.0/...`) as a URL. */
  url(pathname: string): string {
    return `http://127.0.0.1:${this.ports.http}${pathname}`;
  }

  fetch(pathname: string, init?: RequestInit): Promise<Response> {
    return fetch(this.url(pathname), init);
  }

  output(): string {
    return this.running.output();
  }

  get exited(): boolean {
    return this.running.process.exitCode !== null || this.running.process.signalCode !== null;
  }

  stop(graceMs?: number): Promise<number | null> {
    return this.running.stop(graceMs);
  }

  static async start(options: StockDaprdOptions): Promise<StockDaprd> {
    const binary = ensureBinaries('daprd').daprd;
    const { controlPlane: cp } = options;
    const ports: DaprdPorts = { http: await freePort(), grpc: await freePort(), internal: await freePort(), public: await freePort(), metrics: await freePort() };
    const svc = (name: string, port: number) => `${name}.${cp.namespace}.svc.cluster.local:${port}`;
    const replacements: Record<string, string> = { [svc('dapr-sentry', 443)]: cp.sentry };
    if (cp.operator) replacements[svc('dapr-api', 443)] = cp.operator;
    if (cp.placement) replacements[svc('dapr-placement-server', 50005)] = cp.placement;
    if (cp.scheduler) replacements[svc('dapr-scheduler-server-a', 443)] = cp.scheduler;
    const flagValues: Record<string, string> = {
      '--dapr-http-port': String(ports.http),
      '--dapr-grpc-port': String(ports.grpc),
      '--dapr-internal-grpc-port': String(ports.internal),
      '--dapr-public-port': String(ports.public),
      '--metrics-port': String(ports.metrics),
    };
    if (options.appPort !== undefined) flagValues['--app-port'] = String(options.appPort);
    const podName = options.pod.metadata!.name!;
    const kubeconfigFile = path.join(options.kubelet.podDir(options.pod), 'daprd.kubeconfig');
    const mapping: ContainerMapping = {
      executable: (command) => {
        if (command.length > 0) throw new Error(`daprd of ${podName}: unexpected command ${JSON.stringify(command)} (Dapr's injector sets args only)`);
        return [];
      },
      replacements,
      flagValues,
      extraEnv: (mounts: MountMap) => {
        // The local kubelet runs containers as the test's user (root in CI), not as the pod's non-root user.
        const env: Record<string, string> = { DAPR_HOST_IP: '127.0.0.1', DAPR_UNSAFE_SKIP_CONTAINER_UID_GID_CHECK: 'true', ...options.env };
        const tokenDir = mounts['/var/run/secrets/dapr.io/sentrytoken'];
        if (tokenDir) env['DAPR_SENTRY_TOKEN_FILE'] = path.join(tokenDir, 'token');
        const accountDir = mounts['/var/run/secrets/kubernetes.io/serviceaccount'];
        if (accountDir) env['KUBECONFIG'] = serviceAccountKubeconfig(options.server, accountDir, kubeconfigFile);
        return env;
      },
    };
    const prepared = await options.kubelet.prepare(options.pod, 'daprd', mapping);
    // The image's entry point: Dapr's injector puts /daprd as the first arg.
    if (prepared.argv[0] !== '/daprd') throw new Error(`daprd of ${podName}: args start with ${prepared.argv[0]}, expected /daprd`);
    prepared.argv[0] = binary;
    const running = options.kubelet.start(prepared);
    const daprd = new StockDaprd(options.pod, ports, running, options);
    if (options.waitHealthy !== false) await daprd.waitHealthy(options.timeoutMs);
    return daprd;
  }

  /**
   * The URL of the pod's own readiness probe for daprd (the injector's httpGet, on daprd's public port), with the
   * container port mapped to the local one it was given.
   */
  readinessProbeUrl(): string {
    const container = this.pod.spec!.containers.find((c) => c.name === 'daprd')!;
    const probe = container.readinessProbe?.httpGet;
    if (!probe) throw new Error(`daprd of ${this.pod.metadata!.name} has no httpGet readiness probe`);
    const args = container.args ?? [];
    const portOf = (flag: string) => args[args.indexOf(flag) + 1];
    const local: Record<string, number> = {
      [portOf('--dapr-public-port') ?? '3501']: this.ports.public,
      [portOf('--dapr-http-port') ?? '3500']: this.ports.http,
    };
    const target = local[String(probe.port)];
    if (target === undefined) throw new Error(`daprd readiness probe port ${probe.port} is neither its public nor its HTTP port`);
    return `http://127.0.0.1:${target}${probe.path ?? '/'}`;
  }

  /** Until the pod's readiness probe passes (GET /v1.0/healthz → 204); fails with the log if daprd exits. */
  async waitHealthy(timeoutMs = 60_000): Promise<void> {
    const probe = this.readinessProbeUrl();
    await waitFor(
      async () => {
        // An exit ends the wait at once (waitFor would retry a thrown error until its time-out).
        if (this.exited) return true;
        return (await fetch(probe).catch(() => undefined))?.status === 204;
      },
      { what: `daprd of ${this.pod.metadata!.name} to be healthy`, timeoutMs, intervalMs: 250 },
    )
      .then(() => {
        if (this.exited) throw new Error(`daprd of ${this.pod.metadata!.name} exited with ${this.running.process.exitCode ?? this.running.process.signalCode}`);
      })
      .catch((error: Error) => {
        throw new Error(`${error.message}\n--- daprd output (${this.running.prepared.logFile}) ---\n${this.output().slice(-8000)}`, { cause: error });
      });
  }
}
