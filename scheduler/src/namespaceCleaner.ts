// Kubernetes mode: a deleted namespace takes its jobs and reminders with it (docs/scheduler-spec.md §3.9; Dapr's
// namespace controller). Every replica watches Namespaces (RBAC: get/list/watch only) and deletes the namespace's
// two key prefixes when one goes; the deletes are idempotent, so replicas doing it together is harmless.
// Loaded by app.ts only in Kubernetes mode, so the Kubernetes client stays out of other schedulers.
import { loadClusterAccess } from '@tapr/lib/kube/clusterAccess';
import { KubeHttp } from '@tapr/lib/kube/kubeHttp';
import { Informer } from '@tapr/lib/kube/informer';
import { resourceSource } from '@tapr/lib/kube/resourceSource';
import type { Logger } from '@tapr/lib/logger';
import type { ReadinessTarget } from '@tapr/lib/health';
import { namespacePrefixes } from './jobKey.js';
import type { JobStore } from './store.js';

export interface NamespaceCleanerOptions {
  kubeconfig: string;
  env: NodeJS.ProcessEnv;
  store: JobStore;
  readiness: ReadinessTarget;
  logger: Logger;
}

export async function runNamespaceCleaner(options: NamespaceCleanerOptions, signal: AbortSignal): Promise<void> {
  const { logger, store } = options;
  const access = loadClusterAccess({ kubeconfigFlag: options.kubeconfig, env: options.env });
  const http = new KubeHttp(access, { userAgent: 'tapr-scheduler' });
  const informer = new Informer<{ metadata?: { name?: string } }>({
    name: 'namespaces',
    source: resourceSource(http, { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace' }),
    // Only the name matters here.
    transform: (ns) => ({ metadata: { name: ns.metadata?.name } }),
    logger: logger.child('informer'),
  });
  informer.on({
    removed: (ns, reason) => {
      const name = ns.metadata?.name;
      if (reason !== 'deleted' || !name) return;
      void Promise.all(namespacePrefixes(name).map((prefix) => store.deletePrefix(prefix))).then(
        () => logger.info('namespace deleted: its jobs and reminders were removed', { namespace: name }),
        (err: Error) => logger.error('could not remove the jobs of a deleted namespace', { namespace: name, error: err.message }),
      );
    },
  });
  void informer.whenSynced(signal).then(() => options.readiness.ready(), () => {});
  try {
    await informer.run(signal);
  } finally {
    http.close();
  }
}
