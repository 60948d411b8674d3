// Running a service under test with exactly the RBAC its docs list: apply the YAML, mint a token for the service
// account and write a kubeconfig for it — so an integration test fails when the documented rules are not enough.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { kubectl, testCluster } from './kubeTest.js';
import { waitFor } from './wait.js';

/** The YAML between `<!-- rbac:begin -->` and `<!-- rbac:end -->` (a fenced block) in a Markdown file. */
export function rbacFromDocs(markdownFile: string): string {
  const block = /<!-- rbac:begin -->\s*```yaml\n([\s\S]*?)```\s*<!-- rbac:end -->/.exec(readFileSync(markdownFile, 'utf8'))?.[1];
  if (!block) throw new Error(`${markdownFile} has no RBAC block between <!-- rbac:begin --> and <!-- rbac:end -->`);
  return block;
}

export interface ServiceAccountKubeconfigOptions {
  /** The service account's namespace. */
  namespace: string;
  serviceAccount: string;
  /** RBAC YAML applied first (it usually creates the service account too). */
  rbac: string;
  /** Token lifetime (default one hour). */
  expirationSeconds?: number;
}

export interface ServiceAccountKubeconfig {
  /** A kubeconfig file for the test cluster that authenticates as the service account. */
  file: string;
  token: string;
  /** The cluster-scoped objects the RBAC YAML created (ClusterRoles, ClusterRoleBindings, …). */
  clusterScoped: Array<{ kind: string; name: string }>;
  /** Deletes those cluster-scoped objects and the kubeconfig file (namespaced ones go with the namespace). */
  remove(): Promise<void>;
}

const clusterScopedKinds = new Set(['ClusterRole', 'ClusterRoleBinding', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration', 'Namespace']);

export async function serviceAccountKubeconfig(options: ServiceAccountKubeconfigOptions): Promise<ServiceAccountKubeconfig> {
  const applied = await kubectl(['apply', '-f', '-'], { input: options.rbac });
  if (applied.code !== 0) throw new Error(`applying the RBAC for ${options.namespace}/${options.serviceAccount} failed: ${applied.stderr}`);
  const clusterScoped = yaml
    .loadAll(options.rbac)
    .filter((doc): doc is { kind: string; metadata: { name: string } } => Boolean(doc && typeof doc === 'object' && clusterScopedKinds.has((doc as { kind?: string }).kind ?? '')))
    .map((doc) => ({ kind: doc.kind, name: doc.metadata.name }));
  const token = await waitFor(
    async () => {
      const result = await kubectl(['create', 'token', options.serviceAccount, '-n', options.namespace, `--duration=${options.expirationSeconds ?? 3600}s`]);
      if (result.code !== 0) throw new Error(result.stderr.trim());
      return result.stdout.trim() || undefined;
    },
    { what: `a token for the service account ${options.namespace}/${options.serviceAccount}` },
  );
  const cluster = testCluster();
  const dir = mkdtempSync(path.join(tmpdir(), `kubeconfig-${options.serviceAccount}-`));
  const file = path.join(dir, 'kubeconfig');
  // JSON is YAML: every kubeconfig reader takes it.
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'local', cluster: { server: cluster.server, 'certificate-authority': cluster.caCertFile } }],
      users: [{ name: options.serviceAccount, user: { token } }],
      contexts: [{ name: options.serviceAccount, context: { cluster: 'local', user: options.serviceAccount, namespace: options.namespace } }],
      'current-context': options.serviceAccount,
    }),
    { mode: 0o600 },
  );
  return {
    file,
    token,
    clusterScoped,
    async remove() {
      for (const { kind, name } of clusterScoped) await kubectl(['delete', kind, name, '--ignore-not-found', '--wait=false']);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
