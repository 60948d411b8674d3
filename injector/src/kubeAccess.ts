// What the injector asks of the Kubernetes API, behind one small interface so the parts can be unit-tested with
// a hand-written fake. The RBAC it needs is exactly these calls (docs/injector.md lists it).
import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';

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

export function isNotFound(error: unknown): boolean {
  return (error as { code?: number })?.code === 404;
}

function isConflict(error: unknown): boolean {
  return (error as { code?: number })?.code === 409;
}

export class ClientNodeKubeAccess implements KubeAccess {
  readonly #core: CoreV1Api;
  readonly #custom: CustomObjectsApi;
  readonly #admission: AdmissionregistrationV1Api;

  constructor(config: KubeConfig) {
    this.#core = config.makeApiClient(CoreV1Api);
    this.#custom = config.makeApiClient(CustomObjectsApi);
    this.#admission = config.makeApiClient(AdmissionregistrationV1Api);
  }

  async serviceAccountUid(namespace: string, name: string): Promise<string | undefined> {
    try {
      return (await this.#core.readNamespacedServiceAccount({ namespace, name })).metadata?.uid;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw new Error(`reading ServiceAccount ${namespace}/${name}`, { cause: error });
    }
  }

  async daprConfiguration(namespace: string, name: string): Promise<Record<string, unknown> | undefined> {
    try {
      return (await this.#custom.getNamespacedCustomObject({ group: 'dapr.io', version: 'v1alpha1', namespace, plural: 'configurations', name })) as Record<
        string,
        unknown
      >;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw new Error(`reading Configuration ${namespace}/${name}`, { cause: error });
    }
  }

  async components(namespace: string): Promise<Array<Record<string, unknown>>> {
    try {
      const list = (await this.#custom.listNamespacedCustomObject({ group: 'dapr.io', version: 'v1alpha1', namespace, plural: 'components' })) as {
        items?: Array<Record<string, unknown>>;
      };
      return list.items ?? [];
    } catch (error) {
      throw new Error(`listing Components in ${namespace}`, { cause: error });
    }
  }

  async patchWebhookCaBundle(configurationName: string, caBundleBase64: string): Promise<string | undefined> {
    try {
      // `add` sets the member whether or not it exists (`replace` fails on a configuration without caBundle).
      const updated = await this.#admission.patchMutatingWebhookConfiguration(
        { name: configurationName, body: [{ op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: caBundleBase64 }] },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      );
      return updated.metadata?.resourceVersion;
    } catch (error) {
      throw new Error(`patching MutatingWebhookConfiguration ${configurationName}`, { cause: error });
    }
  }

  async readSecret(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    try {
      const secret = await this.#core.readNamespacedSecret({ namespace, name });
      return Object.fromEntries(Object.entries(secret.data ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')]));
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw new Error(`reading Secret ${namespace}/${name}`, { cause: error });
    }
  }

  async createSecret(namespace: string, name: string, data: Record<string, string>): Promise<boolean> {
    try {
      await this.#core.createNamespacedSecret({
        namespace,
        body: {
          metadata: { name, namespace, labels: { 'app.kubernetes.io/managed-by': 'tapr-injector' } },
          type: 'Opaque',
          data: Object.fromEntries(Object.entries(data).map(([key, value]) => [key, Buffer.from(value).toString('base64')])),
        },
      });
      return true;
    } catch (error) {
      if (isConflict(error)) return false;
      throw new Error(`creating Secret ${namespace}/${name}`, { cause: error });
    }
  }
}
