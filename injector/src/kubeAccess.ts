// What the injector asks of the Kubernetes API, behind one small interface so the parts can be unit-tested with
// a hand-written fake. The RBAC it needs is exactly these calls (docs/injector.md lists it).
import type { V1MutatingWebhookConfiguration, V1Secret, V1ServiceAccount } from '@kubernetes/client-node';
import { isConflict, type KubeHttp } from '@tapr/lib/kube';

export interface KubeAccess {
  /** The UID of a ServiceAccount, or undefined when it does not exist. */
  serviceAccountUid(namespace: string, name: string): Promise<string | undefined>;
  /** Configuration `name` (dapr.io/v1alpha1) or undefined when it (or its CRD) does not exist. */
  daprConfiguration(namespace: string, name: string): Promise<Record<string, unknown> | undefined>;
  /** Components (dapr.io/v1alpha1) in a namespace. */
  components(namespace: string): Promise<Array<Record<string, unknown>>>;
  /** Sets `caBundle` (base64) on the first webhook of a MutatingWebhookConfiguration; returns its resourceVersion. */
  patchWebhookCaBundle(configurationName: string, caBundleBase64: string): Promise<string | undefined>;
  readSecret(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  /** Creates a Secret; resolves false when one of that name already exists (another replica won the race). */
  createSecret(namespace: string, name: string, data: Record<string, string>): Promise<boolean>;
}

const ns = (namespace: string) => `/namespaces/${encodeURIComponent(namespace)}`;
const daprPath = (namespace: string, plural: string, name?: string) =>
  `/apis/dapr.io/v1alpha1${ns(namespace)}/${plural}${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;

/** KubeAccess over lib's lean API client. */
export class HttpKubeAccess implements KubeAccess {
  constructor(private readonly http: KubeHttp) {}

  async serviceAccountUid(namespace: string, name: string): Promise<string | undefined> {
    const account = await this.#call(`reading ServiceAccount ${namespace}/${name}`, () =>
      this.http.getIfExists<V1ServiceAccount>(`/api/v1${ns(namespace)}/serviceaccounts/${encodeURIComponent(name)}`),
    );
    return account?.metadata?.uid;
  }

  daprConfiguration(namespace: string, name: string): Promise<Record<string, unknown> | undefined> {
    return this.#call(`reading Configuration ${namespace}/${name}`, () => this.http.getIfExists<Record<string, unknown>>(daprPath(namespace, 'configurations', name)));
  }

  async components(namespace: string): Promise<Array<Record<string, unknown>>> {
    const list = await this.#call(`listing Components in ${namespace}`, () =>
      this.http.request<{ items?: Array<Record<string, unknown>> }>('GET', daprPath(namespace, 'components')),
    );
    return list.items ?? [];
  }

  async patchWebhookCaBundle(configurationName: string, caBundleBase64: string): Promise<string | undefined> {
    const updated = await this.#call(`patching MutatingWebhookConfiguration ${configurationName}`, () =>
      // `add` sets the member whether or not it exists (`replace` fails on a configuration without caBundle).
      this.http.request<V1MutatingWebhookConfiguration>(
        'PATCH',
        `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${encodeURIComponent(configurationName)}`,
        { body: [{ op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: caBundleBase64 }], contentType: 'application/json-patch+json' },
      ),
    );
    return updated.metadata?.resourceVersion;
  }

  async readSecret(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    const secret = await this.#call(`reading Secret ${namespace}/${name}`, () =>
      this.http.getIfExists<V1Secret>(`/api/v1${ns(namespace)}/secrets/${encodeURIComponent(name)}`),
    );
    if (!secret) return undefined;
    return Object.fromEntries(Object.entries(secret.data ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')]));
  }

  async createSecret(namespace: string, name: string, data: Record<string, string>): Promise<boolean> {
    const body: V1Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace, labels: { 'app.kubernetes.io/managed-by': 'tapr-injector' } },
      type: 'Opaque',
      data: Object.fromEntries(Object.entries(data).map(([key, value]) => [key, Buffer.from(value).toString('base64')])),
    };
    try {
      await this.http.request('POST', `/api/v1${ns(namespace)}/secrets`, { body });
      return true;
    } catch (error) {
      if (isConflict(error)) return false;
      throw new Error(`creating Secret ${namespace}/${name}`, { cause: error });
    }
  }

  async #call<T>(what: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw new Error(what, { cause: error });
    }
  }
}
