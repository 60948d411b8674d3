// The KUBERNETES validator's view of the cluster: TokenReview for tokens, and cluster-wide caches of pods (slim)
// and dapr.io Configurations, as Dapr's sentry keeps them. A cache miss is answered by a direct GET — a pod whose
// token arrives before its watch event is still found.
import { ApiException, AuthenticationV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { Logger, ReadinessTarget } from '@tapr/lib';
import { SlimCache } from './slimCache.js';
import { annotations, type KubernetesLookups, type PodIdentity, type TokenReviewOutcome } from './kubernetes.js';
import { apiMessage } from '../ca/kubeStore.js';

interface ConfigurationObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: { accessControl?: { trustDomain?: string } };
}

const configurationGroup = { group: 'dapr.io', version: 'v1alpha1', plural: 'configurations' };

function slimPod(pod: V1Pod): PodIdentity {
  const kept: Record<string, string> = {};
  for (const name of Object.values(annotations)) {
    const value = pod.metadata?.annotations?.[name];
    if (value !== undefined) kept[name] = value;
  }
  return {
    namespace: pod.metadata?.namespace ?? '',
    name: pod.metadata?.name ?? '',
    serviceAccountName: pod.spec?.serviceAccountName ?? 'default',
    annotations: kept,
  };
}

export class KubeLookups implements KubernetesLookups {
  readonly #auth: AuthenticationV1Api;
  readonly #core: CoreV1Api;
  readonly #custom: CustomObjectsApi;
  readonly #pods: SlimCache<V1Pod, PodIdentity>;
  readonly #configurations: SlimCache<ConfigurationObject, string>;

  constructor(kubeConfig: KubeConfig, logger: Logger) {
    this.#auth = kubeConfig.makeApiClient(AuthenticationV1Api);
    this.#core = kubeConfig.makeApiClient(CoreV1Api);
    this.#custom = kubeConfig.makeApiClient(CustomObjectsApi);
    this.#pods = new SlimCache({
      name: 'pods',
      kubeConfig,
      path: '/api/v1/pods',
      list: () => this.#core.listPodForAllNamespaces(),
      transform: slimPod,
      logger,
    });
    this.#configurations = new SlimCache({
      name: 'configurations.dapr.io',
      kubeConfig,
      path: '/apis/dapr.io/v1alpha1/configurations',
      list: () => this.#custom.listClusterCustomObject(configurationGroup) as Promise<{ items: ConfigurationObject[] }>,
      transform: (config) => config.spec?.accessControl?.trustDomain ?? '',
      logger,
    });
  }

  /** Runs both caches; `readiness` turns ready once both have synced (Dapr's "validator ready"). */
  async run(signal: AbortSignal, readiness?: ReadinessTarget): Promise<void> {
    readiness?.notReady('syncing the pod and Configuration caches');
    const timer = setInterval(() => {
      if (!this.ready()) return;
      readiness?.ready();
      clearInterval(timer);
    }, 100);
    try {
      await Promise.all([this.#pods.run(signal), this.#configurations.run(signal)]);
    } finally {
      clearInterval(timer);
    }
  }

  ready(): boolean {
    return this.#pods.synced && this.#configurations.synced;
  }

  async tokenReview(token: string, audiences: string[]): Promise<TokenReviewOutcome> {
    try {
      const review = await this.#auth.createTokenReview({ body: { spec: { token, audiences } } });
      return { authenticated: review.status?.authenticated === true, username: review.status?.user?.username, error: review.status?.error || undefined };
    } catch (error) {
      throw new Error(apiMessage(error), { cause: error });
    }
  }

  async pod(namespace: string, name: string): Promise<PodIdentity | undefined> {
    const cached = this.#pods.get(namespace, name);
    if (cached) return cached;
    try {
      return this.#pods.remember(await this.#core.readNamespacedPod({ namespace, name }));
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return undefined;
      throw new Error(apiMessage(error), { cause: error });
    }
  }

  async configurationTrustDomain(namespace: string, name: string): Promise<string | undefined> {
    const cached = this.#configurations.get(namespace, name);
    if (cached !== undefined) return cached;
    try {
      const object = (await this.#custom.getNamespacedCustomObject({ ...configurationGroup, namespace, name })) as ConfigurationObject;
      return this.#configurations.remember(object);
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return undefined;
      throw new Error(apiMessage(error), { cause: error });
    }
  }
}
