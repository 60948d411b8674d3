// For comparison only: what caching every Deployment and Pod costs, with client-node's own informer
// (makeInformer: one unpaged list, full objects). This is what the operator avoids.
import { AppsV1Api, CoreV1Api, KubeConfig, makeInformer } from '@kubernetes/client-node';

const { kubeconfig } = JSON.parse(process.argv[2]);
const kc = new KubeConfig();
kc.loadFromFile(kubeconfig);
const apps = kc.makeApiClient(AppsV1Api);
const core = kc.makeApiClient(CoreV1Api);
const informers = [
  makeInformer(kc, '/apis/apps/v1/deployments', () => apps.listDeploymentForAllNamespaces()),
  makeInformer(kc, '/api/v1/pods', () => core.listPodForAllNamespaces()),
];
const started = performance.now();
await Promise.all(informers.map((i) => new Promise((resolve, reject) => {
  i.on('connect', () => undefined);
  i.on('error', reject);
  i.start().then(resolve, reject);
})));
process.send({ type: 'ready', syncMs: Math.round(performance.now() - started), cached: { deployments: informers[0].list().length, pods: informers[1].list().length } });
process.on('message', async (message) => {
  if (message === 'memory') process.send({ type: 'memory', usage: process.memoryUsage() });
  if (message === 'stop') {
    for (const i of informers) await i.stop();
    process.exit(0);
  }
});
