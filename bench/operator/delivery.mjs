// Time from a Component change (the PATCH kubectl apply sends) to its arrival on every connected ComponentUpdate
// stream, with 1, 100 and 1,000 streams.
//   npx tsc -b operator && node bench/operator/delivery.mjs [--streams 1,100,1000] [--updates 20]
// The operator runs in this process against a local control plane (TAPR_CLUSTER_DIR to reuse a running one); the
// streams are held by a second process, each over its own mTLS connection. Both share the machine's 2 cores with
// the API server and etcd.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { controlPlaneId, Readiness, silentLogger, StaticSvidSource } from '@tapr/lib';
import { arg, cluster, createTestTrustBundle, issueTestSvid, operatorDist, percentile } from './common.mjs';

import { KubeHttp } from '@tapr/lib/kube';
const { Operator } = await import(path.join(operatorDist, 'operator.js'));
const { loopbackOperatorSettings } = await import(path.join(operatorDist, '..', 'test', 'fixtures', 'loopbackSettings.js'));

const levels = arg('streams', '1,100,1000').split(',').map(Number);
const updates = Number(arg('updates', '20'));
const namespace = 'bench-delivery';
const controlPlane = 'bench-control-plane';

const env = await cluster();
const http = new KubeHttp(env.access);
const dir = mkdtempSync(path.join(tmpdir(), 'operator-bench-'));
const ensure = (method, p, body) => http.request(method, p, { body }).catch((e) => (e.status === 409 ? undefined : Promise.reject(e)));
await ensure('POST', '/api/v1/namespaces', { metadata: { name: namespace } });
await ensure('POST', '/api/v1/namespaces', { metadata: { name: controlPlane } });
await ensure('POST', `/api/v1/namespaces/${namespace}/secrets`, { metadata: { name: 'redis' }, stringData: { password: 's3cr3t' } });
const componentPath = `/apis/dapr.io/v1alpha1/namespaces/${namespace}/components`;
const component = (seq) => ({
  apiVersion: 'dapr.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'store', namespace },
  spec: {
    type: 'state.redis',
    version: 'v1',
    metadata: [
      { name: 'redisHost', value: 'redis:6379' },
      { name: 'redisPassword', secretKeyRef: { name: 'redis', key: 'password' } },
      { name: 'seq', value: String(seq) },
    ],
  },
});
await ensure('POST', componentPath, component(0));

const bundle = await createTestTrustBundle();
const svid = await issueTestSvid(bundle, controlPlaneId('operator', bundle.trustDomain, controlPlane));
const client = await issueTestSvid(bundle, { trustDomain: 'public', namespace, appId: 'orders' });
const bundleFile = path.join(dir, 'bundle.json');
writeFileSync(bundleFile, JSON.stringify({ rootPem: bundle.rootPem, svids: [client] }));

const readiness = new Readiness();
const operator = new Operator(
  loopbackOperatorSettings(controlPlane),
  { http, svid: new StaticSvidSource(svid), logger: silentLogger(), readiness },
);
const stop = new AbortController();
const running = operator.run(stop.signal);
while (!readiness.healthy) await new Promise((r) => setTimeout(r, 50));

const now = () => performance.timeOrigin + performance.now();
// Where the time goes: when the informer saw the change, and when the operator had written it to every stream.
const seenAt = new Map();
const writtenAt = new Map();
operator.store.components.on({
  updated: (_previous, object) => {
    const seq = Number(object.spec.metadata.find((m) => m.name === 'seq')?.value);
    seenAt.set(seq, now());
    operator.dispatcher.idle().then(() => writtenAt.set(seq, now()));
  },
});
const results = [];
let seq = 1;
for (const count of levels) {
  const child = fork(path.join(path.dirname(new URL(import.meta.url).pathname), 'streamClients.mjs'), [
    JSON.stringify({ port: operator.api.port, count, namespace, serverNamespace: controlPlane, bundleFile }),
  ]);
  const delivered = new Map();
  let waiting;
  child.on('message', (message) => {
    if (message.type === 'delivered') {
      delivered.set(message.seq, message);
      waiting?.();
    } else if (message.type === 'error') {
      console.error('client error:', message.message);
    }
  });
  while (operator.hub.count('components') < count) await new Promise((r) => setTimeout(r, 50));
  const last = [];
  const first = [];
  const seen = [];
  const written = [];
  for (let i = 0; i < updates; i++, seq++) {
    const started = now();
    await http.request('PATCH', `${componentPath}/store`, {
      body: { spec: component(seq).spec },
      contentType: 'application/merge-patch+json',
    });
    const deadline = Date.now() + 10_000;
    while (!delivered.has(seq) && Date.now() < deadline) await new Promise((r) => (waiting = r, setTimeout(r, 100)));
    const result = delivered.get(seq);
    if (!result) throw new Error(`update ${seq} did not reach all ${count} streams within 10 s`);
    first.push(result.first - started);
    last.push(result.last - started);
    seen.push(seenAt.get(seq) - started);
    written.push(writtenAt.get(seq) - started);
    await new Promise((r) => setTimeout(r, 100));
  }
  child.send('stop');
  await new Promise((r) => child.once('exit', r));
  while (operator.hub.count('components') > 0) await new Promise((r) => setTimeout(r, 50));
  const row = {
    streams: count,
    updates,
    'watch event p50 ms': percentile(seen, 50).toFixed(1),
    'all written p50 ms': percentile(written, 50).toFixed(1),
    'first p50 ms': percentile(first, 50).toFixed(1),
    'all p50 ms': percentile(last, 50).toFixed(1),
    'all p90 ms': percentile(last, 90).toFixed(1),
    'all max ms': Math.max(...last).toFixed(1),
  };
  results.push(row);
  console.log(JSON.stringify(row));
}
console.table(results);
stop.abort();
await running;
http.close();
rmSync(dir, { recursive: true, force: true });
await env.stop();
