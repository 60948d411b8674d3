// The trust bundle in Kubernetes (spec §2.5): Secret `dapr-trust-bundle` (ca.crt, issuer.crt, issuer.key, plus
// tapr's rotation keys) and ConfigMap `dapr-trust-bundle` (ca.crt, public) in sentry's namespace. Helm creates
// both, usually empty; sentry creates them only when they are missing. Every write carries the resourceVersion it
// read (or is a create), so concurrent sentries cannot overwrite each other's bundle.
import { ApiException, CoreV1Api, type KubeConfig, type V1ConfigMap, type V1Secret } from '@kubernetes/client-node';
import type { StoredBundle, TrustBundleStore } from './store.js';

export const trustBundleName = 'dapr-trust-bundle';

export interface KubeStoreOptions {
  kubeConfig: KubeConfig;
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
  readonly #api: CoreV1Api;
  readonly #name: string;

  constructor(private readonly options: KubeStoreOptions) {
    this.#api = options.kubeConfig.makeApiClient(CoreV1Api);
    this.#name = options.name ?? trustBundleName;
    this.description = `Secret ${options.namespace}/${this.#name}`;
    this.publishedDescription = `ConfigMap ${options.namespace}/${this.#name}`;
  }

  async read(): Promise<StoredBundle> {
    const { namespace } = this.options;
    const [secret, configMap] = await Promise.all([
      orAbsent(this.#api.readNamespacedSecret({ name: this.#name, namespace }), this.description),
      orAbsent(this.#api.readNamespacedConfigMap({ name: this.#name, namespace }), this.publishedDescription),
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
    return conditional(
      current
        ? this.#api.replaceNamespacedSecret({ name: this.#name, namespace, body: { ...current, data } })
        : this.#api.createNamespacedSecret({ namespace, body: { metadata: { name: this.#name, namespace }, type: 'Opaque', data } }),
      this.description,
    );
  }

  async publish(anchorsPem: string, basedOn: StoredBundle): Promise<boolean> {
    const { namespace, anchorsKey } = this.options;
    const current = (basedOn.token as KubeToken).configMap;
    const data = { ...(current?.data ?? {}), [anchorsKey]: anchorsPem };
    return conditional(
      current
        ? this.#api.replaceNamespacedConfigMap({ name: this.#name, namespace, body: { ...current, data } })
        : this.#api.createNamespacedConfigMap({ namespace, body: { metadata: { name: this.#name, namespace }, data } }),
      this.publishedDescription,
    );
  }
}

async function orAbsent<T>(request: Promise<T>, what: string): Promise<T | undefined> {
  try {
    return await request;
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) return undefined;
    throw new Error(`cannot read ${what}: ${apiMessage(error)}`, { cause: error });
  }
}

/** Resolves true when written, false on 409 (someone else created or updated it first). */
async function conditional(request: Promise<unknown>, what: string): Promise<boolean> {
  try {
    await request;
    return true;
  } catch (error) {
    if (error instanceof ApiException && error.code === 409) return false;
    throw new Error(`cannot write ${what}: ${apiMessage(error)}`, { cause: error });
  }
}

export function apiMessage(error: unknown): string {
  if (error instanceof ApiException) {
    const body = error.body as { message?: string } | string | undefined;
    const message = typeof body === 'string' ? safeJsonMessage(body) : body?.message;
    return `HTTP ${error.code}${message ? `: ${message}` : ''}`;
  }
  return error instanceof Error ? error.message : String(error);
}

function safeJsonMessage(text: string): string | undefined {
  try {
    return (JSON.parse(text) as { message?: string }).message ?? text;
  } catch {
    return text;
  }
}
