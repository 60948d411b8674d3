// Reads Secrets one at a time with `get` — the operator never lists or caches Secrets, so it needs no `list`/`watch`
// on them and holds no copy of every Secret in the cluster (Dapr's cache-backed client does both).
import type { SecretReader } from '../resources/secrets.js';
import { resourcePath, type KubeHttp } from '@tapr/lib/kube';

const secrets = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret' };

export function kubeSecretReader(http: KubeHttp): SecretReader {
  return {
    async read(namespace, name) {
      const secret = await http.getIfExists<{ data?: Record<string, string> }>(resourcePath(secrets, namespace, name), { timeoutMs: 10_000 });
      return secret && (secret.data ?? {});
    },
  };
}
