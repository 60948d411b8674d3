// One operator (all parts but sentry: the SVID comes from a file) in its own process, so its RSS is its own.
// Reports {type:'ready', syncMs} when healthy and answers 'memory' with process.memoryUsage().
// Imports only what the operator binary imports (no test helpers), so the figure is the operator's.
import { readFileSync } from 'node:fs';
import { Readiness } from '@tapr/lib/health';
import { silentLogger } from '@tapr/lib/logger';
import { StaticSvidSource } from '@tapr/lib/security/svid';
import { fromKubeconfigFile, KubeHttp } from '@tapr/lib/kube';
import { Operator } from '../../operator/dist/src/operator.js';
import { loopbackOperatorSettings } from '../../operator/dist/test/fixtures/loopbackSettings.js';

const { kubeconfig, svidFile, namespace } = JSON.parse(process.argv[2]);
const raw = JSON.parse(readFileSync(svidFile, 'utf8'));
const http = new KubeHttp(fromKubeconfigFile(kubeconfig));
const readiness = new Readiness();
const operator = new Operator(
  loopbackOperatorSettings(namespace, { leaderElection: true, serviceReconciler: true }),
  { http, svid: new StaticSvidSource({ ...raw, notBefore: new Date(raw.notBefore), notAfter: new Date(raw.notAfter) }), logger: silentLogger(), readiness },
);
const started = performance.now();
const stop = new AbortController();
const running = operator.run(stop.signal);
const synced = async () => {
  while (!readiness.healthy || !operator.elector?.leading || operator.reconciler.informers.some((i) => !i.synced)) {
    await new Promise((r) => setTimeout(r, 20));
  }
};
await synced();
process.send({
  type: 'ready',
  syncMs: Math.round(performance.now() - started),
  cached: Object.fromEntries([...operator.store.all, ...operator.reconciler.informers].map((i) => [i.name, i.size])),
});
process.on('message', async (message) => {
  if (message === 'memory') process.send({ type: 'memory', usage: process.memoryUsage() });
  if (message === 'stop') {
    stop.abort();
    await running;
    http.close();
    process.exit(0);
  }
});
