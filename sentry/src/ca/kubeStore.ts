// The trust bundle in Kubernetes (spec §2.5): Secret `dapr-trust-bundle` (ca.crt, issuer.crt, issuer.key, plus
// tapr's rotation keys) and ConfigMap `dapr-trust-bundle` (ca.crt, public) in sentry's namespace. Helm creates
// both, usually empty; sentry creates them only when they are missing. Every write carries the resourceVersion it
// read (or is a create), so concurrent sentries cannot overwrite each other's bundle.
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { isConflict, type KubeHttp } from '@tapr/lib/kube';
import type { StoredBundle, TrustBundleStore } from './store.js';

export const trustBundleName = 'dapr-trust-bundle';

export interface KubeStoreOptions {
  http: KubeHttp;
  namespace: string;
  /** The ConfigMap key that publishes the roots (base name of --issuer-ca-filename). */
  anchorsKey: string;
  name?: string;
}

interface KubeToken {
  secret?: V1Secret;
  configMap?: V1ConfigMap;
}

export class KubeTrustBundleStore implements TrustBundleStore {
  readonly description: string;
  readonly publishedDescription: string;
  readonly #name: string;

  constructor(private readonly options: KubeStoreOptions) {
    this.#name = options.name ?? trustBundleName;
    this.description = `Secret ${options.namespace}/${this.#name}`;
    this.publishedDescription = `ConfigMap ${options.namespace}/${this.#name}`;
  }

  async read(): Promise<StoredBundle> {
    const [secret, configMap] = await Promise.all([
      this.#read<V1Secret>('secrets', this.#name, this.description),
      this.#read<V1ConfigMap>('configmaps', this.#name, this.publishedDescription),
    ]);
    const entries: Record<string, string> = {};
    for (const [key, value] of Object.entries(secret?.data ?? {})) entries[key] = Buffer.from(value, 'base64').toString('utf8');
    const anchors = configMap?.data?.[this.options.anchorsKey];
    const token: KubeToken = { secret, configMap };
    return { entries, published: { anchors: anchors && anchors.trim() !== '' ? anchors : undefined }, token };
  }

  async write(entries: Record<string, string>, bundleKeys: readonly string[], basedOn: StoredBundle): Promise<boolean> {
    const { namespace } = this.options;
    const current = (basedOn.token as KubeToken).secret;
    const data: Record<string, string> = { ...(current?.data ?? {}) };
    for (const key of bundleKeys) delete data[key];
    for (const [key, value] of Object.entries(entries)) data[key] = Buffer.from(value, 'utf8').toString('base64');
    return current
      ? this.#write('PUT', 'secrets', { ...current, data }, this.description)
      : this.#write('POST', 'secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: this.#name, namespace }, type: 'Opaque', data }, this.description);
  }

  async publish(anchorsPem: string, basedOn: StoredBundle): Promise<boolean> {
    const { namespace, anchorsKey } = this.options;
    const current = (basedOn.token as KubeToken).configMap;
    const data = { ...(current?.data ?? {}), [anchorsKey]: anchorsPem };
    return current
      ? this.#write('PUT', 'configmaps', { ...current, data }, this.publishedDescription)
      : this.#write('POST', 'configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: this.#name, namespace }, data }, this.publishedDescription);
  }

  #path(plural: string, name?: string): string {
    return `/api/v1/namespaces/${encodeURIComponent(this.options.namespace)}/${plural}${name ? `/${encodeURIComponent(name)}` : ''}`;
  }

  async #read<T>(plural: string, name: string, what: string): Promise<T | undefined> {
    try {
      return await this.options.http.getIfExists<T>(this.#path(plural, name));
    } catch (error) {
      throw new Error(`cannot read ${what}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** A create (POST) or a replace carrying the resourceVersion read (PUT); false on 409 (someone else wrote first). */
  async #write(method: 'POST' | 'PUT', plural: string, body: V1Secret | V1ConfigMap, what: string): Promise<boolean> {
    try {
      await this.options.http.request(method, this.#path(plural, method === 'PUT' ? body.metadata?.name : undefined), { body });
      return true;
    } catch (error) {
      if (isConflict(error)) return false;
      throw new Error(`cannot write ${what}: ${(error as Error).message}`, { cause: error });
    }
  }
}
