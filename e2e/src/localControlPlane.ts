// The local e2e target: the chart as `helm install` would lay it out, on the real local API server, with the four
// services running as local node processes configured exactly as the rendered pods configure them. Each service
// runs as its own ServiceAccount (a token bound to its Pending pod), so the chart's RBAC is what lets it work.
//
// What differs from a cluster, and why (docs/install.md repeats this):
//   - Ports are free local ports, and the Service addresses in args/env point at 127.0.0.1 (no kube-proxy, no DNS).
//   - The daprsystem Configuration's sentryAddress is 127.0.0.1:<port>, because the operator reads it from there.
//   - Service dapr-sidecar-injector is an ExternalName for localhost and the webhook names the local port: the API
//     server then dials the local injector while still checking its certificate for dapr-sidecar-injector.<ns>.svc.
//   - Paths compiled into the binaries (the in-cluster token and the sentry token) are given as --kubeconfig and
//     DAPR_SENTRY_TOKEN_FILE; the injector, which looks for its own token at a fixed path, gets
//     --sidecar-token-volume=always so sidecars still get the projected token volume.
//   - The operator runs with ENABLE_WEBHOOKS=false: its conversion webhook would rewire the cluster-wide
//     subscriptions CRD that other tests share (the operator's own tests cover it).
//   - The scheduler runs only when asked for (the `scheduler` option); otherwise global.scheduler.enabled=false, so
//     the chart renders none and the injector tells no sidecar about one. When it runs, its StatefulSet's pods run
//     with --listen-address=127.0.0.1 (WatchHosts then advertises each replica's local port, which sidecars dial
//     directly), and their etcd members on free local ports with plain-http peer URLs: the chart's
//     https://<pod>.dapr-scheduler-server.<ns>.svc peer names need cluster DNS, and sentry's certificate names
//     those, not 127.0.0.1. The data volume is a directory of the local kubelet instead of a claim (there is no
//     storage provisioner), kept across restarts of a replica as a claim would be; the writable /tmp volume, where
//     the scheduler writes its identity files, is its TMPDIR; and Service dapr-scheduler-server-a, which sidecars
//     dial first, is a local TCP proxy over the live replicas (serviceProxy.ts).
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { ensureBinaries, freePort, killProcessTree, kubectl, waitFor } from '@tapr/lib/testing';
import { renderChart, repoRoot, type KubeObject } from './helm.js';
import { ServiceProxy } from './serviceProxy.js';
import type { ControlPlaneAddresses } from './stockDaprd.js';
import { LocalKubelet, serviceAccountKubeconfig, type ContainerMapping, type MountMap, type RunningContainer } from './localKubelet.js';

export const services = ['sentry', 'operator', 'injector', 'placement'] as const;
export type ServiceName = (typeof services)[number];
/** What this control plane runs: the four services, and the scheduler when asked for. */
export type Workload = ServiceName | 'scheduler';

const workloadOf: Record<Workload, { app: string; container: string }> = {
  sentry: { app: 'dapr-sentry', container: 'dapr-sentry' },
  operator: { app: 'dapr-operator', container: 'dapr-operator' },
  injector: { app: 'dapr-sidecar-injector', container: 'dapr-sidecar-injector' },
  placement: { app: 'dapr-placement-server', container: 'dapr-placement-server' },
  scheduler: { app: 'dapr-scheduler-server', container: 'dapr-scheduler-server' },
};

interface ServicePorts {
  api: number;
  healthz: number;
  metrics: number;
  webhook?: number;
  /** The scheduler's etcd member: its client and peer ports. */
  etcdClient?: number;
  etcdPeer?: number;
}

export interface LocalSchedulerOptions {
  /** How many of the StatefulSet's pods run (default 3, all of them); each is one member of their etcd cluster. */
  replicas?: number;
  /** tapr's --leadership-ttl: how soon a dead replica's jobs move to the others (the binary's default is 20s). */
  leadershipTtl?: string;
}

export interface LocalControlPlaneOptions {
  kubeConfig: KubeConfig;
  kubeconfigFile: string;
  server: string;
  namespace: string;
  /** Only namespaces with this label are sent to the webhook (other tests share the cluster). */
  webhookNamespaceLabel: { key: string; value: string };
  /** Where the secret-reader Role goes (a namespace of the test, not `default`). */
  secretReaderNamespace: string;
  workDir: string;
  values?: Record<string, unknown>;
  /** Record each pod as Running and Ready once its service is ready, as a kubelet would (the demo shows it). */
  reportStatus?: boolean;
  /** How many of each service's pods to run (default one each; 0 leaves a service out). */
  replicas?: Partial<Record<ServiceName, number>>;
  /** Run the scheduler too (the chart's StatefulSet dapr-scheduler-server, global.scheduler.enabled); default: none. */
  scheduler?: LocalSchedulerOptions;
}

export class LocalControlPlane {
  readonly kubelet: LocalKubelet;
  /** Per service, per replica (pods in name order). */
  readonly ports = {} as Record<Workload, ServicePorts[]>;
  readonly running = {} as Record<Workload, RunningContainer[]>;
  /** The pod each replica plays, in name order. */
  readonly pods = {} as Record<Workload, V1Pod[]>;
  /** What was applied, after the local mapping. */
  applied: KubeObject[] = [];
  #clusterScoped: KubeObject[] = [];
  /** Every port handed out, so no two listeners get the same one (freePort only finds one free now). */
  readonly #taken = new Set<number>();
  /** Containers that ended before the current ones (a killed scheduler replica), for output(). */
  readonly #ended: RunningContainer[] = [];
  /** Service dapr-scheduler-server-a. */
  #schedulerService: ServiceProxy | undefined;

  constructor(private readonly options: LocalControlPlaneOptions) {
    this.kubelet = new LocalKubelet({ kubeConfig: options.kubeConfig, workDir: path.join(options.workDir, 'kubelet') });
  }

  get namespace(): string {
    return this.options.namespace;
  }

  address(service: Workload, replica = 0): string {
    return `127.0.0.1:${this.#ports(service, replica).api}`;
  }

  /** Where a sidecar of this control plane finds its services (what StockDaprd maps the injected addresses to). */
  sidecarAddresses(): ControlPlaneAddresses {
    const addresses: ControlPlaneAddresses = { namespace: this.namespace, sentry: this.address('sentry') };
    if (this.replicas('operator') > 0) addresses.operator = this.address('operator');
    if (this.replicas('placement') > 0) addresses.placement = this.address('placement');
    if (this.#schedulerService) addresses.scheduler = this.#schedulerService.address;
    return addresses;
  }

  healthUrl(service: Workload, pathname = '/healthz', replica = 0): string {
    return `http://127.0.0.1:${this.#ports(service, replica).healthz}${pathname}`;
  }

  metricsUrl(service: Workload, replica = 0): string {
    return `http://127.0.0.1:${this.#ports(service, replica).metrics}/metrics`;
  }

  replicas(service: Workload): number {
    if (service === 'scheduler') return this.options.scheduler ? (this.options.scheduler.replicas ?? 3) : 0;
    return this.options.replicas?.[service] ?? 1;
  }

  #workloads(): Workload[] {
    return [...services, ...(this.replicas('scheduler') > 0 ? (['scheduler'] as const) : [])];
  }

  #ports(service: Workload, replica: number): ServicePorts {
    const ports = this.ports[service]?.[replica];
    if (!ports) throw new Error(`${service} replica ${replica} is not part of this control plane`);
    return ports;
  }

  async start(): Promise<void> {
    for (const service of this.#workloads()) {
      const main = mainScript(service);
      if (!existsSync(main)) throw new Error(`${main} is missing: build the services first (npx tsc -b)`);
    }
    for (const service of this.#workloads()) {
      this.ports[service] = [];
      this.running[service] = [];
      for (let i = 0; i < this.replicas(service); i++) {
        this.ports[service].push({ api: await this.#freePort(), healthz: await this.#freePort(), metrics: await this.#freePort() });
      }
    }
    for (const ports of this.ports.operator) ports.webhook = await this.#freePort();
    for (const ports of this.ports.scheduler ?? []) Object.assign(ports, { etcdClient: await this.#freePort(), etcdPeer: await this.#freePort() });
    mkdirSync(this.options.workDir, { recursive: true });

    await this.#applyChart();
    if (this.replicas('scheduler') > 0) {
      this.#schedulerService = await ServiceProxy.start({
        endpoints: () => this.#live('scheduler').map((replica) => this.address('scheduler', replica)),
      });
    }
    await this.#runAll('sentry');
    await Promise.all((['operator', 'injector', 'placement', 'scheduler'] as const).map((service) => this.#runAll(service)));
  }

  async #freePort(): Promise<number> {
    for (;;) {
      const port = await freePort();
      if (this.#taken.has(port)) continue;
      this.#taken.add(port);
      return port;
    }
  }

  /** The replicas of `service` whose process runs. */
  #live(service: Workload): number[] {
    return (this.running[service] ?? []).flatMap((r, replica) => (r.process.exitCode === null && r.process.signalCode === null ? [replica] : []));
  }

  /**
   * SIGKILL scheduler replicas (every one when none is named) with every process they started (their etcd), as a
   * container runtime kills a container's processes; resolves once all of them are gone.
   */
  async killScheduler(...replicas: number[]): Promise<void> {
    const targets = replicas.length ? replicas : this.#live('scheduler');
    await Promise.all(
      targets.map(async (replica) => {
        const running = this.running.scheduler?.[replica];
        if (!running) throw new Error(`scheduler replica ${replica} is not part of this control plane`);
        const pid = running.process.pid;
        if (pid === undefined || running.process.exitCode !== null || running.process.signalCode !== null) return;
        await killProcessTree(pid);
        await running.exited;
      }),
    );
  }

  /**
   * Starts scheduler replicas again (every one not running when none is named), on their ports and with their data,
   * as the kubelet restarts a container of the same pod; resolves once they are ready. Replicas that form an etcd
   * quorum only together must be restarted in one call.
   */
  async restartScheduler(...replicas: number[]): Promise<void> {
    const live = new Set(this.#live('scheduler'));
    const targets = replicas.length ? replicas : (this.pods.scheduler ?? []).map((_, replica) => replica).filter((replica) => !live.has(replica));
    await Promise.all(
      targets.map((replica) => {
        if (live.has(replica)) throw new Error(`scheduler replica ${replica} is still running`);
        const pod = this.pods.scheduler?.[replica];
        if (!pod) throw new Error(`scheduler replica ${replica} is not part of this control plane`);
        this.#ended.push(this.running.scheduler[replica]!);
        return this.#run('scheduler', pod, replica);
      }),
    );
  }

  /** Stops every service (SIGTERM) and returns their exit codes; removes the cluster-scoped objects applied. */
  async stop(): Promise<Partial<Record<Workload, number | null>>> {
    const codes: Partial<Record<Workload, number | null>> = {};
    await this.#schedulerService?.close();
    // Clients of sentry first, sentry last, as a rolling shutdown would.
    for (const group of [['operator', 'injector', 'placement', 'scheduler'], ['sentry']] as const) {
      await Promise.all(
        group.map(async (service) => {
          // The worst exit code of the service's replicas (0 only when every replica exited 0).
          const results = await Promise.all((this.running[service] ?? []).map((r) => r.stop()));
          if (results.length) codes[service] = results.find((code) => code !== 0) ?? 0;
        }),
      );
    }
    await this.kubelet.stopAll();
    for (const object of this.#clusterScoped) {
      await kubectl(['delete', object.kind, object.metadata.name, '--ignore-not-found', '--wait=false'], { kubeconfig: this.options.kubeconfigFile });
    }
    return codes;
  }

  /** Everything the service's replicas logged (a restarted replica's earlier runs first). */
  output(service: Workload): string {
    const earlier = this.#ended.filter((r) => r.prepared.container.name === workloadOf[service].container);
    return [...earlier, ...(this.running[service] ?? [])].map((r) => r.output()).join('\n');
  }

  async #applyChart(): Promise<void> {
    const { namespace, webhookNamespaceLabel } = this.options;
    const rendered = await renderChart({
      namespace,
      values: {
        ...this.options.values,
        global: { ...(this.options.values?.['global'] as Record<string, unknown> | undefined), scheduler: { enabled: this.replicas('scheduler') > 0 } },
        dapr_sidecar_injector: { namespaceSelector: { matchLabels: { [webhookNamespaceLabel.key]: webhookNamespaceLabel.value } } },
        secretReader: { namespace: this.options.secretReaderNamespace },
      },
    });
    // Hooks run only on upgrade (the CRD Job); `helm install` does not create them.
    const installed = rendered.filter((o) => !o.metadata.annotations?.['helm.sh/hook']);
    this.applied = installed.map((object) => this.#mapForLocal(object)).filter((object) => {
      // A service run by nobody here has no webhook to call (a Fail policy would then hold up annotated pods).
      return !(object.kind === 'MutatingWebhookConfiguration' && this.replicas('injector') === 0);
    });
    this.#clusterScoped = this.applied.filter((o) => ['ClusterRole', 'ClusterRoleBinding', 'MutatingWebhookConfiguration'].includes(o.kind));
    const yaml = this.applied.map((o) => JSON.stringify(o)).join('\n---\n');
    const result = await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=tapr-e2e', '-f', '-'], {
      input: yaml,
      kubeconfig: this.options.kubeconfigFile,
    });
    if (result.code !== 0) throw new Error(`applying the rendered chart failed: ${result.stderr}`);
  }

  #mapForLocal(object: KubeObject): KubeObject {
    const copy = structuredClone(object) as KubeObject & Record<string, any>;
    if (copy.kind === 'Service' && copy.metadata.name === 'dapr-sidecar-injector') {
      copy['spec'] = { type: 'ExternalName', externalName: 'localhost', ports: copy['spec'].ports };
    }
    if (copy.kind === 'MutatingWebhookConfiguration' && copy.metadata.name === 'dapr-sidecar-injector') {
      if (this.replicas('injector') > 0) copy['webhooks'][0].clientConfig.service.port = this.#ports('injector', 0).api;
    }
    if (copy.kind === 'Configuration' && copy.metadata.name === 'daprsystem') {
      copy['spec'].mtls.sentryAddress = this.address('sentry');
    }
    if (copy.kind === 'StatefulSet' && copy.metadata.name === workloadOf.scheduler.app && copy['spec'].volumeClaimTemplates) {
      // No storage provisioner: each claim becomes a directory of the local kubelet (kept across container restarts).
      const template = copy['spec'].template.spec;
      const claims = (copy['spec'].volumeClaimTemplates as KubeObject[]).map((claim) => ({ name: claim.metadata.name, emptyDir: {} }));
      template.volumes = [...(template.volumes ?? []), ...claims];
      delete copy['spec'].volumeClaimTemplates;
    }
    return copy;
  }

  async #runAll(service: Workload): Promise<void> {
    const count = this.replicas(service);
    if (count === 0) return;
    const { app } = workloadOf[service];
    const rendered = this.applied.find((o) => (o.kind === 'Deployment' || o.kind === 'StatefulSet') && o.metadata.name === app) as
      | (KubeObject & { spec: { replicas: number } })
      | undefined;
    if (!rendered) throw new Error(`the chart rendered no workload ${app}`);
    if (count > rendered.spec.replicas) throw new Error(`${service}: ${count} replicas asked for, the chart runs ${rendered.spec.replicas}`);
    const pods = await this.kubelet.waitForPods(this.options.namespace, `app=${app}`, rendered.spec.replicas);
    this.pods[service] = pods.slice(0, count);
    await Promise.all(this.pods[service].map((pod, replica) => this.#run(service, pod, replica)));
  }

  async #run(service: Workload, pod: V1Pod, replica: number): Promise<void> {
    const { container } = workloadOf[service];
    const ports = this.#ports(service, replica);
    const flagValues: Record<string, string> = {
      '--port': String(ports.api),
      '--healthz-port': String(ports.healthz),
      '--metrics-port': String(ports.metrics),
    };
    if (ports.webhook) flagValues['--webhook-server-port'] = String(ports.webhook);
    if (service === 'scheduler') Object.assign(flagValues, this.#schedulerFlags(ports));
    const sentryInCluster = `dapr-sentry.${this.options.namespace}.svc.cluster.local:443`;
    const kubeconfigFile = path.join(this.options.workDir, `${pod.metadata!.name}.kubeconfig`);
    const mapping: ContainerMapping = {
      executable: (command) => {
        if (command.length !== 1 || command[0] !== `/${service}`) throw new Error(`${service}: unexpected command ${JSON.stringify(command)}`);
        return [process.execPath, mainScript(service)];
      },
      replacements: { [sentryInCluster]: this.address('sentry') },
      flagValues,
      extraArgs: (mounts: MountMap) => {
        const accountDir = mounts['/var/run/secrets/kubernetes.io/serviceaccount'];
        if (!accountDir) throw new Error(`${service}: the pod has no service-account token volume`);
        const args = ['--kubeconfig', serviceAccountKubeconfig(this.options.server, accountDir, kubeconfigFile)];
        if (service === 'injector') args.push('--sidecar-token-volume=always');
        if (service === 'scheduler') {
          // tapr's own flags: the etcd binary the image would hold, and how soon a dead replica's jobs move.
          args.push(`--etcd-binary=${ensureBinaries('etcd').etcd}`);
          if (this.options.scheduler?.leadershipTtl) args.push(`--leadership-ttl=${this.options.scheduler.leadershipTtl}`);
        }
        return args;
      },
      extraEnv: (mounts: MountMap) => {
        const env: Record<string, string> = {};
        const tokenDir = mounts['/var/run/secrets/dapr.io/sentrytoken'];
        if (tokenDir) env['DAPR_SENTRY_TOKEN_FILE'] = path.join(tokenDir, 'token');
        if (service === 'operator') env['ENABLE_WEBHOOKS'] = 'false';
        // The scheduler writes its identity files under $TMPDIR, which is the pod's writable /tmp volume.
        if (service === 'scheduler' && mounts['/tmp']) env['TMPDIR'] = mounts['/tmp'];
        return env;
      },
    };
    const prepared = await this.kubelet.prepare(pod, container, mapping);
    const running = this.kubelet.start(prepared);
    this.running[service][replica] = running;
    await waitFor(
      async () => {
        if (running.process.exitCode !== null) throw new Error(`${service} exited with ${running.process.exitCode}`);
        return (await fetch(this.healthUrl(service, '/readyz', replica))).status === 200;
      },
      { what: `${service} (${pod.metadata!.name}) to be ready`, timeoutMs: 60_000, intervalMs: 250 },
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n--- ${service} output (${prepared.logFile}) ---\n${running.output().slice(-6000)}`, { cause: error });
    });
    if (this.options.reportStatus) await this.kubelet.reportRunning(pod, [container]);
  }

  /** The scheduler's local addresses: gRPC and metrics on loopback, its etcd member among the replicas run here. */
  #schedulerFlags(ports: ServicePorts): Record<string, string> {
    const members = (this.ports.scheduler ?? []).map((p, i) => `${workloadOf.scheduler.app}-${i}=http://127.0.0.1:${p.etcdPeer}`);
    return {
      '--listen-address': '127.0.0.1',
      '--etcd-client-port': String(ports.etcdClient),
      '--etcd-initial-cluster': members.join(','),
    };
  }

  /** The trust anchors sentry published (ConfigMap dapr-trust-bundle, key ca.crt). */
  async trustAnchors(): Promise<string> {
    const core = this.options.kubeConfig.makeApiClient(CoreV1Api);
    const cm = await core.readNamespacedConfigMap({ name: 'dapr-trust-bundle', namespace: this.options.namespace });
    const pem = cm.data?.['ca.crt'];
    if (!pem) throw new Error('ConfigMap dapr-trust-bundle has no ca.crt');
    return pem;
  }
}

export function mainScript(service: Workload): string {
  return path.join(repoRoot, service, 'dist', 'src', 'main.js');
}

export function readLog(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

