// `make demo`: the seed's walkthrough on one machine without Docker. The local Kubernetes control plane (make
// cluster-up) gets the chart, tapr's five services (the scheduler's three replicas among them) run from their pods as
// the local e2e target runs them, Debian's
// redis-server backs the seed's `statestore` Component, and two annotated demo apps run with the stock daprd that
// tapr's injector put into their pods. Each step prints what a reader of the seed would look at.
//
//   npx tsx --tsconfig e2e/tsconfig.json e2e/demo/demo.ts [--cluster-dir DIR] [--exit]
//     --cluster-dir  the running local cluster (default .tapr/cluster, as make cluster-up starts it)
//     --exit         stop everything after the walkthrough (tests); otherwise keep running until Ctrl-C
//     --control-plane-namespace / --app-namespace   default dapr-system / default, as in the seed
//     --node         on the cluster's real node (make cluster-up NODE=1): helm install and real pods (nodeDemo.ts)
//     --images DIR   with --node: the image archives (default .tapr/node-images; built there when missing)
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { binaryPaths, freePort, kubectl, readClusterInfo, waitFor } from '@tapr/lib/testing';
import { repoRoot } from '../src/helm.js';
import { LocalControlPlane } from '../src/localControlPlane.js';
import type { RunningContainer } from '../src/localKubelet.js';
import { RedisServer } from '../src/redisServer.js';
import { StockDaprd, stockDaprdBinary } from '../src/stockDaprd.js';
import { workloadSvid } from '../src/workload.js';
import { runNodeDemo } from './nodeDemo.js';
import { Walkthrough } from './walkthrough.js';

const { values: flags } = parseArgs({
  options: {
    'cluster-dir': { type: 'string', default: '.tapr/cluster' },
    'control-plane-namespace': { type: 'string', default: 'dapr-system' },
    'app-namespace': { type: 'string', default: 'default' },
    exit: { type: 'boolean', default: false },
    node: { type: 'boolean', default: false },
    images: { type: 'string', default: '.tapr/node-images' },
  },
});
const controlPlaneNamespace = flags['control-plane-namespace']!;
const appNamespace = flags['app-namespace']!;

async function main(): Promise<void> {
  const cluster = process.env['TAPR_CLUSTER_INFO'] ? JSON.parse(process.env['TAPR_CLUSTER_INFO']) : readClusterInfo(path.resolve(flags['cluster-dir']!));
  if (!cluster) throw new Error(`no local cluster running from ${flags['cluster-dir']}: start one with make cluster-up`);
  process.env['TAPR_CLUSTER_INFO'] = JSON.stringify(cluster);
  const kubeconfig: string = cluster.kubeconfig;
  if (flags.node) return runNodeDemo({ cluster, controlPlaneNamespace, appNamespace, exit: flags.exit!, imagesDir: path.resolve(repoRoot, flags.images!) });
  const walk = new Walkthrough(8, kubeconfig);
  const heading = (title: string) => walk.heading(title);
  const show = (text: string) => walk.show(text);
  const kube = (...args: string[]) => walk.kube(...args);
  const kubeApply = (yaml: string, namespace: string) => walk.apply(yaml, namespace);
  const started = walk.started;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfig);
  const workDir = path.resolve(repoRoot, '.tapr', `demo-${controlPlaneNamespace}`);
  mkdirSync(workDir, { recursive: true });
  const stops: Array<() => Promise<unknown>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(0)));
  process.once('SIGTERM', () => void stopAll().then(() => process.exit(0)));

  try {
    let done = heading('The local Kubernetes control plane (kube-apiserver, kube-controller-manager, etcd)');
    show(`API server ${cluster.server}`);
    show(await kube('version'));
    const daprd = stockDaprdBinary();
    show(`stock daprd ${daprd.version} (built from github.com/dapr/dapr): ${daprd.path}`);
    done();

    done = heading(`Installing the tapr chart into ${controlPlaneNamespace} and starting tapr's five services`);
    for (const namespace of [controlPlaneNamespace, appNamespace]) {
      if ((await kubectl(['get', 'namespace', namespace], { kubeconfig })).code === 0) continue;
      await kube('create', 'namespace', namespace);
      // What the demo made goes when it stops, so no pod is left looking Running with nothing behind it.
      stops.unshift(() => kubectl(['delete', 'namespace', namespace, '--wait=false'], { kubeconfig }));
    }
    // The webhook sees the pods of namespaces with this label (the chart's namespaceSelector, narrowed here).
    await kube('label', 'namespace', appNamespace, 'tapr.dev/demo=enabled', '--overwrite');
    const controlPlane = new LocalControlPlane({
      kubeConfig,
      kubeconfigFile: kubeconfig,
      server: cluster.server,
      namespace: controlPlaneNamespace,
      webhookNamespaceLabel: { key: 'tapr.dev/demo', value: 'enabled' },
      secretReaderNamespace: appNamespace,
      workDir: path.join(workDir, 'control-plane'),
      reportStatus: true,
      // The chart's three replicas (one etcd member each), so daprd gets its jobs API and actor reminders.
      scheduler: {},
    });
    stops.push(() => controlPlane.stop());
    await controlPlane.start();
    show(await kube('get', 'pods', '-n', controlPlaneNamespace, '-o', 'wide'));
    show(await kube('get', 'deployments,statefulsets,services', '-n', controlPlaneNamespace));
    done();

    done = heading('The dapr.io CustomResourceDefinitions');
    show((await kube('get', 'crds')).split('\n').filter((line, i) => i === 0 || line.includes('dapr.io')).join('\n'));
    done();

    done = heading(`Redis (Debian's redis-server) and the seed's statestore Component in ${appNamespace}`);
    const redis = await RedisServer.start(path.join(workDir, 'redis'));
    stops.push(() => redis.stop());
    show(`redis-server on ${redis.address}`);
    // The seed names its Redis by a Service DNS name; there is no cluster DNS here, so it points at the local one.
    const seed = readFileSync(path.join(repoRoot, 'e2e', 'manifests', 'statestore.yaml'), 'utf8');
    const local = seed.replace(/value: redis-leader\.default\S*/, `value: "${redis.address}"`).replace(/^(\s*)namespace: default$/m, `$1namespace: ${appNamespace}`);
    if (local === seed) throw new Error('e2e/manifests/statestore.yaml: no redisHost value redis-leader.default to point at the local Redis');
    show(`e2e/manifests/statestore.yaml with redisHost → ${redis.address} (no cluster DNS here)`);
    show(await kubeApply(local, appNamespace));
    await kubeApply(
      `apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata: {name: demo-config}
spec:
  nameResolution: {component: sqlite, configuration: {connectionString: ${path.join(workDir, 'nameresolution.db')}, cleanupInterval: "0"}}
`,
      appNamespace,
    );
    show(await kube('get', 'component', '-n', appNamespace));
    done();

    done = heading('Two annotated demo apps: tapr injects daprd, the stock daprd runs beside each app');
    const appsYaml = readFileSync(path.join(repoRoot, 'e2e', 'demo', 'apps.yaml'), 'utf8');
    show(await kubeApply(appsYaml, appNamespace));
    stops.unshift(() => kubectl(['delete', '-n', appNamespace, '-f', '-', '--wait=false'], { kubeconfig, input: appsYaml }));
    const sidecars: Record<string, StockDaprd> = {};
    const apps: Record<string, { container: RunningContainer; port: number }> = {};
    for (const app of ['demo-backend', 'demo-frontend']) {
      const pod = await controlPlane.kubelet.waitForPod(appNamespace, `app=${app}`);
      const port = await freePort();
      const sidecar = await StockDaprd.start({
        kubelet: controlPlane.kubelet,
        pod,
        server: cluster.server,
        appPort: port,
        waitHealthy: false,
        controlPlane: controlPlane.sidecarAddresses(),
      });
      stops.push(() => sidecar.stop());
      const container = await startApp(controlPlane, pod, port, sidecar.ports.http);
      stops.push(() => container.stop());
      await sidecar.waitHealthy();
      await controlPlane.kubelet.reportRunning(pod, ['app', 'daprd']);
      sidecars[app] = sidecar;
      apps[app] = { container, port };
    }
    show(await kube('get', 'pods', '-n', appNamespace, '-l', 'app in (demo-backend,demo-frontend)', '-o', 'wide'));
    const frontendPod = sidecars['demo-frontend']!.pod;
    show(
      `containers of ${frontendPod.metadata!.name}: ` +
        (await kube('get', 'pod', frontendPod.metadata!.name!, '-n', appNamespace, '-o', 'jsonpath={range .spec.containers[*]}{.name} ({.image}) {end}')),
    );
    show(`(each daprd container is run here by the stock daprd ${daprd.version} built from Dapr's module, in place of its image)`);
    done();

    done = heading('A state round trip through the sidecar, and the frontend calling the backend');
    const frontend = sidecars['demo-frontend']!;
    const save = await frontend.fetch('/v1.0/state/statestore', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ key: 'greeting', value: { text: 'hello from the demo' } }]),
    });
    show(`POST ${frontend.url('/v1.0/state/statestore')} [{"key":"greeting",…}] → ${save.status}`);
    const read = await frontend.fetch('/v1.0/state/statestore/greeting');
    show(`GET  ${frontend.url('/v1.0/state/statestore/greeting')} → ${read.status} ${await read.text()} (ETag ${read.headers.get('etag')})`);
    show(`in Redis: ${(await redis.keys('demo-frontend||*')).join(', ')}`);
    const round = await waitFor(
      async () => {
        const last = (await (await fetch(`http://127.0.0.1:${apps['demo-frontend']!.port}/last`)).json()) as { round: number; callStatus?: number; readStatus?: number };
        return last.round > 0 && last.callStatus === 200 && last.readStatus === 200 ? last : undefined;
      },
      { what: 'the frontend app to complete a round (state saved and read, backend called)', timeoutMs: 30_000, intervalMs: 500 },
    );
    show(`the frontend app's own latest round (its sidecar saved and read state, then invoked demo-backend over mTLS):`);
    show(JSON.stringify(round));
    done();

    done = heading("The sidecar's workload certificate, signed by tapr's sentry");
    const anchors = await controlPlane.trustAnchors();
    const svid = await workloadSvid({
      kubelet: controlPlane.kubelet,
      pod: frontendPod,
      sentryAddress: controlPlane.address('sentry'),
      trustAnchorsPem: anchors,
      controlPlane: { trustDomain: 'cluster.local', namespace: controlPlaneNamespace },
      id: 'demo-frontend',
    });
    walk.showCertificate(await frontend.servingChain(svid), anchors);
    done();

    heading('Look around');
    show(`export KUBECONFIG=${kubeconfig}`);
    show(`alias kubectl=${binaryPaths().kubectl}`);
    show('kubectl get pods -A');
    show(`kubectl get component,configuration -n ${appNamespace}`);
    show(`curl -s ${frontend.url('/v1.0/state/statestore/visits')}      # the frontend's counter, through its sidecar`);
    show(`curl -s ${frontend.url('/v1.0/metadata')}                     # what the sidecar loaded`);
    show(`logs: ${path.join(workDir, 'control-plane', 'kubelet')}/<namespace>.<pod>/<container>.log`);
    process.stdout.write(`\nThe walkthrough took ${((Date.now() - started) / 1000).toFixed(1)} s.\n`);
    if (flags.exit) {
      await stopAll();
      process.stdout.write('Stopped the apps, their sidecars, Redis and tapr\'s services (--exit). The API server keeps running: make cluster-down stops it.\n');
      return;
    }
    process.stdout.write("Everything keeps running. Press Ctrl-C to stop the apps, their sidecars, Redis and tapr's services; then make cluster-down stops the API server.\n");
    await new Promise(() => undefined);
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** The pod's app container (node /app/app.mjs in the manifest): e2e/demo/app.mjs, on a local port. */
async function startApp(controlPlane: LocalControlPlane, pod: V1Pod, port: number, sidecarHttpPort: number): Promise<RunningContainer> {
  const prepared = await controlPlane.kubelet.prepare(pod, 'app', {
    executable: (command) => {
      if (command.join(' ') !== 'node /app/app.mjs') throw new Error(`app container: unexpected command ${JSON.stringify(command)}`);
      return [process.execPath, path.join(repoRoot, 'e2e', 'demo', 'app.mjs')];
    },
    // The ports the pod would have to itself are local ports here; DAPR_HTTP_PORT is what the injector added.
    extraEnv: () => ({ APP_PORT: String(port), DAPR_HTTP_PORT: String(sidecarHttpPort) }),
  });
  return controlPlane.kubelet.start(prepared);
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`\nthe demo failed: ${error.stack ?? error.message}\n`);
    process.exit(1);
  },
);
