// `make demo NODE=1`: the seed's walkthrough on the cluster's real node (docs/real-node.md). Unlike the default
// demo, nothing here plays the kubelet: the images are imported into the node's containerd, the chart is installed
// with `helm install`, Redis and the demo apps are ordinary pods, the injected daprd is Dapr's own image contents,
// and the apps find each other through Services and CoreDNS.
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { binaryPaths, waitFor, type ClusterInfo } from '@tapr/lib/testing';
import { importImage, nodePaths } from '@tapr/lib/testing/node';
import { repoRoot } from '../src/helm.js';
import { nodeChartFlags } from '../src/nodeChart.js';
import { Walkthrough } from './walkthrough.js';

export interface NodeDemoOptions {
  cluster: ClusterInfo;
  controlPlaneNamespace: string;
  appNamespace: string;
  exit: boolean;
  /** Where the image archives are (built there when missing). */
  imagesDir: string;
}


export async function runNodeDemo({ cluster, controlPlaneNamespace: cpns, appNamespace: ns, exit, imagesDir: images }: NodeDemoOptions): Promise<void> {
  if (!cluster.node) throw new Error('the running cluster has no node: make cluster-down, then make demo NODE=1 (or make cluster-up NODE=1)');
  const walk = new Walkthrough(8, cluster.kubeconfig);
  const helm = (args: string[]) => {
    const result = spawnSync(binaryPaths().helm, args, { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, KUBECONFIG: cluster.kubeconfig } });
    if (result.status !== 0) throw new Error(`helm ${args.join(' ')} failed: ${result.stderr}`);
    return result.stdout;
  };

  let done = walk.heading(`The local Kubernetes control plane and its node ${cluster.node.name} (${cluster.node.ip})`);
  walk.show(await walk.kube('get', 'nodes', '-o', 'wide'));
  done();

  done = walk.heading('Images: the chart’s, the stock daprd, Redis and the demo app as OCI archives, into the node’s containerd');
  const wanted = ['sentry', 'operator', 'injector', 'placement', 'daprd', 'demo-app', 'redis'];
  if (!wanted.every((name) => existsSync(path.join(images, `${name}.tar`)))) {
    walk.show('building them (e2e/images/node-images.sh; a minute or two the first time)');
    const built = spawnSync('bash', [path.join(repoRoot, 'e2e', 'images', 'node-images.sh'), images], { cwd: repoRoot, encoding: 'utf8' });
    if (built.status !== 0) throw new Error(`node-images.sh failed: ${built.stderr.slice(-3000)}`);
  }
  for (const archive of readdirSync(images).filter((f) => f.endsWith('.tar'))) importImage(nodePaths(cluster.dir).containerdSocket, path.join(images, archive));
  walk.show(wanted.map((name) => `${name}.tar`).join(' '));
  done();

  done = walk.heading(`helm install tapr ./charts/tapr -n ${cpns}: tapr's five services as pods on the node`);
  helm([
    'upgrade', '--install', 'tapr', 'charts/tapr', '-n', cpns, '--create-namespace', '--wait', '--timeout', '240s', ...nodeChartFlags,
  ]);
  walk.show(await walk.kube('get', 'pods', '-n', cpns, '-o', 'wide'));
  walk.show((await walk.kube('get', 'crds')).split('\n').filter((line, i) => i === 0 || line.includes('dapr.io')).join('\n'));
  done();

  done = walk.heading(`Redis as a pod behind Service redis-leader, and the seed's statestore Component in ${ns}`);
  if ((await walk.kube('get', 'namespace', '-o', 'name')).split('\n').every((line) => line !== `namespace/${ns}`)) await walk.kube('create', 'namespace', ns);
  await walk.apply(redisManifest, ns);
  // Dapr's Redis store dials redisHost as given, so the seed's host needs its port.
  const seed = readFileSync(path.join(repoRoot, 'e2e', 'manifests', 'statestore.yaml'), 'utf8');
  const component = seed.replace(/value: redis-leader\.default$/m, `value: redis-leader.${ns}:6379`).replace(/^(\s*)namespace: default$/m, `$1namespace: ${ns}`);
  walk.show(`e2e/manifests/statestore.yaml with redisHost redis-leader.${ns}:6379 (the seed names no port; Dapr's Redis store needs one)`);
  walk.show(await walk.apply(component, ns));
  await walk.kube('rollout', 'status', 'deployment/redis-leader', '-n', ns, '--timeout=120s');
  walk.show(await walk.kube('get', 'component,svc', '-n', ns));
  done();

  done = walk.heading('Two annotated demo apps: tapr injects daprd into each pod');
  const apps = readFileSync(path.join(repoRoot, 'e2e', 'demo', 'apps.yaml'), 'utf8')
    .replaceAll('image: node:20-alpine', 'image: tapr.local/demo-app:1\n        imagePullPolicy: Never')
    // Name resolution is the cluster's own here (Kubernetes DNS): the demo Configuration names no resolver.
    .concat('\n---\napiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: demo-config}\nspec: {}\n');
  walk.show(await walk.apply(apps, ns));
  for (const app of ['demo-backend', 'demo-frontend']) await walk.kube('rollout', 'status', `deployment/${app}`, '-n', ns, '--timeout=180s');
  walk.show(await walk.kube('get', 'pods', '-A', '-o', 'wide'));
  const frontend = (await walk.kube('get', 'pods', '-n', ns, '-l', 'app=demo-frontend', '-o', 'jsonpath={.items[0].metadata.name}')).trim();
  walk.show(`containers of ${frontend}: ${await walk.kube('get', 'pod', frontend, '-n', ns, '-o', 'jsonpath={range .spec.containers[*]}{.name} ({.image}) {end}')}`);
  done();

  done = walk.heading('A state round trip through the sidecar (kubectl exec into the app), and the frontend calling the backend');
  const inApp = (script: string) => walk.kube('exec', '-n', ns, frontend, '-c', 'app', '--', 'node', '-e', script);
  walk.show(
    await inApp(
      "const s='http://127.0.0.1:3500/v1.0/state/statestore';" +
        "fetch(s,{method:'POST',headers:{'content-type':'application/json'},body:JSON.stringify([{key:'greeting',value:{text:'hello from the demo'}}])})" +
        ".then(r=>{console.log('POST '+s+' → '+r.status);return fetch(s+'/greeting')})" +
        ".then(async r=>console.log('GET  '+s+'/greeting → '+r.status+' '+(await r.text())+' (ETag '+r.headers.get('etag')+')'))",
    ),
  );
  const round = await waitFor(
    async () => {
      const last = JSON.parse(await inApp("fetch('http://127.0.0.1:8080/last').then(r=>r.text()).then(console.log)")) as { round: number; callStatus?: number };
      return last.round > 0 && last.callStatus === 200 ? last : undefined;
    },
    { what: 'the frontend app to complete a round', timeoutMs: 60_000, intervalMs: 2000 },
  );
  walk.show(`the frontend app's own latest round (state saved and read, demo-backend invoked over mTLS): ${JSON.stringify(round)}`);
  walk.show(`daprd: ${(await walk.kube('logs', '-n', ns, frontend, '-c', 'daprd')).split('\n').filter((l) => /Security is initialized|dapr initialized/.test(l)).map((l) => /msg="([^"]+)"/.exec(l)?.[1]).join(' · ')}`);
  done();

  done = walk.heading("The sidecar's workload certificate, signed by tapr's sentry (read from daprd's mTLS port inside the pod)");
  const served = await inApp(
    "const s=require('tls').connect({host:'127.0.0.1',port:50002,rejectUnauthorized:false,ALPNProtocols:['h2']},()=>{" +
      "const c=s.getPeerCertificate(true);console.log(JSON.stringify({leaf:c.raw.toString('base64'),issuer:c.issuerCertificate.raw.toString('base64')}));s.destroy()})",
  );
  const der = JSON.parse(served) as { leaf: string; issuer: string };
  const chain = [der.leaf, der.issuer].map((b64) => new X509Certificate(Buffer.from(b64, 'base64')));
  walk.showCertificate(chain, await walk.kube('get', 'configmap', 'dapr-trust-bundle', '-n', cpns, '-o', 'jsonpath={.data.ca\\.crt}'));
  done();

  walk.heading('Look around');
  walk.show(`export KUBECONFIG=${cluster.kubeconfig}`);
  walk.show(`alias kubectl=${binaryPaths().kubectl}`);
  walk.show('kubectl get pods -A -o wide');
  walk.show(`kubectl logs -n ${ns} deploy/demo-frontend -c daprd`);
  walk.show(`kubectl exec -n ${ns} deploy/demo-frontend -c app -- node -e "fetch('http://127.0.0.1:3500/v1.0/metadata').then(r=>r.text()).then(console.log)"`);
  process.stdout.write(`\nThe walkthrough took ${((Date.now() - walk.started) / 1000).toFixed(1)} s.\n`);
  if (exit) {
    helm(['uninstall', 'tapr', '-n', cpns, '--wait', '--timeout', '120s']);
    await walk.kube('delete', '-n', ns, 'deployment/demo-backend', 'deployment/demo-frontend', 'deployment/redis-leader', 'service/redis-leader', 'component/statestore', 'configuration/demo-config', '--wait=false');
    process.stdout.write(`Uninstalled tapr and removed the demo's objects from ${ns} (--exit). make cluster-down stops the cluster and its node.\n`);
    return;
  }
  process.stdout.write('Everything runs on the node until make cluster-down, which stops the cluster and removes the node.\n');
}

const redisManifest = `apiVersion: apps/v1
kind: Deployment
metadata: {name: redis-leader, labels: {app: redis-leader}}
spec:
  replicas: 1
  selector: {matchLabels: {app: redis-leader}}
  template:
    metadata: {labels: {app: redis-leader}}
    spec:
      securityContext: {runAsNonRoot: true, runAsUser: 65532}
      containers:
      - name: redis
        image: tapr.local/redis:7
        imagePullPolicy: Never
        args: ["--bind", "0.0.0.0", "--protected-mode", "no", "--save", "", "--appendonly", "no", "--dir", "/tmp"]
        ports: [{containerPort: 6379}]
        readinessProbe: {tcpSocket: {port: 6379}, periodSeconds: 2}
        volumeMounts: [{name: tmp, mountPath: /tmp}]
      volumes: [{name: tmp, emptyDir: {}}]
---
apiVersion: v1
kind: Service
metadata: {name: redis-leader}
spec:
  selector: {app: redis-leader}
  ports: [{port: 6379, targetPort: 6379}]
`;
