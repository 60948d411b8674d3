// Reads Secrets one at a time with `get` — the operator never lists or caches Secrets, so it needs no `list`/`watch`
// on them and holds no copy of every Secret in the cluster (Dapr's cache-backed client does both).
import type { SecretReader } from '../resources/secrets.js';
import { isNotFound, type KubeHttp } from './kubeHttp.js';
import { resourcePath } from './resourceSource.js';

const secrets = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret' };

export function kubeSecretReader(http: KubeHttp): SecretReader {
  return {
    async read(namespace, name) {
      try {
        const secret = await http.request<{ data?: Record<string, string> }>('GET', resourcePath(secrets, namespace, name), { timeoutMs: 10_000 });
        return secret.data ?? {};
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
  };
}
