// Resident memory of an operator process (leader: informers, API, Service reconciler) as the cluster grows:
//   1. an empty cluster;
//   2. 10,000 Deployments (replicas 0, not Dapr-enabled) and 10,000 Pods (Pending), plus 20 Dapr-enabled Deployments;
//   3. the same plus 10,000 Components in 100 namespaces.
// For comparison, step 2 also measures a process caching every Deployment and Pod with client-node's makeInformer.
//   npx tsc -b operator && node bench/operator/memory.mjs [--objects 10000]
// RSS is read from /proc/<pid>/status after the caches have synced and the process has idled for 10 s.
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlPlaneId } from '@tapr/lib';
import { arg, cluster, createTestTrustBundle, issueTestSvid, operatorDist, pool } from './common.mjs';

import { KubeHttp } from '@tapr/lib/kube';
const here = path.dirname(fileURLToPath(import.meta.url));
const objects = Number(arg('objects', '10000'));
const settleMs = Number(arg('settle-ms', '10000'));
const controlPlane = 'bench-memory-cp';

const env = await cluster();
const http = new KubeHttp(env.access);
const dir = mkdtempSync(path.join(tmpdir(), 'operator-memory-'));
const ensure = (p, body) => http.request('POST', p, { body }).catch((e) => (e.status === 409 ? undefined : Promise.reject(e)));
await ensure('/api/v1/namespaces', { metadata: { name: controlPlane } });
const bundle = await createTestTrustBundle();
const svidFile = path.join(dir, 'svid.json');
writeFileSync(svidFile, JSON.stringify(await issueTestSvid(bundle, controlPlaneId('operator', bundle.trustDomain, controlPlane))));

const rssMiB = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

async function measure(label, script) {
  const child = fork(path.join(here, script), [JSON.stringify({ kubeconfig: env.info.kubeconfig, svidFile, namespace: controlPlane })]);
  const next = (type) => new Promise((resolve) => child.on('message', function on(m) { if (m.type === type) { child.off('message', on); resolve(m); } }));
  const ready = await next('ready');
  await new Promise((r) => setTimeout(r, settleMs));
  child.send('memory');
  const { usage } = await next('memory');
  const row = { scenario: label, process: script.replace('.mjs', ''), 'sync ms': ready.syncMs, 'RSS MiB': rssMiB(child.pid).toFixed(1), 'heap used MiB': (usage.heapUsed / 2 ** 20).toFixed(1), cached: JSON.stringify(ready.cached) };
  console.log(JSON.stringify(row));
  child.send('stop');
  await new Promise((r) => child.once('exit', r));
  return row;
}

async function create(kind, count, make) {
  const started = Date.now();
  await pool([...Array(count).keys()], 32, async (i) => {
    const { path: p, body } = make(i);
    await ensure(p, body);
  });
  console.log(`created ${count} ${kind} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

const rows = [];
rows.push(await measure('empty cluster', 'operatorProcess.mjs'));

const workloadNamespaces = 10;
for (let n = 0; n < workloadNamespaces; n++) await ensure('/api/v1/namespaces', { metadata: { name: `bench-apps-${n}` } });
await new Promise((r) => setTimeout(r, 2000)); // the default ServiceAccounts
const template = (name, annotations = {}) => ({
  metadata: { labels: { app: name }, annotations },
  spec: { containers: [{ name: 'app', image: 'example.invalid/app:1', env: [{ name: 'LOG_LEVEL', value: 'info' }], resources: { requests: { cpu: '10m' } } }] },
});
await create('Deployments', objects, (i) => {
  const ns = `bench-apps-${i % workloadNamespaces}`;
  return { path: `/apis/apps/v1/namespaces/${ns}/deployments`, body: { metadata: { name: `web-${i}`, labels: { app: `web-${i}` } }, spec: { replicas: 0, selector: { matchLabels: { app: `web-${i}` } }, template: template(`web-${i}`) } } };
});
await create('Pods', objects, (i) => {
  const ns = `bench-apps-${i % workloadNamespaces}`;
  return { path: `/api/v1/namespaces/${ns}/pods`, body: { metadata: { name: `pod-${i}`, labels: { app: `pod-${i}` } }, spec: template(`pod-${i}`).spec } };
});
await create('Dapr-enabled Deployments', 20, (i) => ({
  path: `/apis/apps/v1/namespaces/bench-apps-0/deployments`,
  body: { metadata: { name: `dapr-${i}` }, spec: { replicas: 0, selector: { matchLabels: { app: `dapr-${i}` } }, template: template(`dapr-${i}`, { 'dapr.io/enabled': 'true', 'dapr.io/app-id': `dapr-${i}` }) } },
}));
rows.push(await measure(`${objects} Deployments + ${objects} Pods`, 'operatorProcess.mjs'));
rows.push(await measure(`${objects} Deployments + ${objects} Pods`, 'naiveCache.mjs'));

const componentNamespaces = 100;
for (let n = 0; n < componentNamespaces; n++) await ensure('/api/v1/namespaces', { metadata: { name: `bench-comp-${n}` } });
await create('Components', objects, (i) => {
  const ns = `bench-comp-${i % componentNamespaces}`;
  return {
    path: `/apis/dapr.io/v1alpha1/namespaces/${ns}/components`,
    body: {
      apiVersion: 'dapr.io/v1alpha1',
      kind: 'Component',
      metadata: { name: `store-${i}` },
      spec: { type: 'state.redis', version: 'v1', metadata: [{ name: 'redisHost', value: `redis-${i}.cache:6379` }, { name: 'redisPassword', secretKeyRef: { name: 'redis', key: 'password' } }, { name: 'actorStateStore', value: 'true' }] },
      scopes: [`app-${i % 7}`],
    },
  };
});
rows.push(await measure(`+ ${objects} Components`, 'operatorProcess.mjs'));

console.table(rows);
http.close();
rmSync(dir, { recursive: true, force: true });
await env.stop();
