// The KUBERNETES validator's view of the cluster: TokenReview for tokens, and cluster-wide informers of pods and
// dapr.io Configurations, as Dapr's sentry keeps them — each keeping only what the validator reads (for a pod, its
// name, service account and three annotations), so watching every pod costs little memory. A cache miss is
// answered by a direct GET: a pod whose token arrives before its watch event is still found.
import type { V1Pod, V1TokenReview } from '@kubernetes/client-node';
import type { Logger } from '@tapr/lib/logger';
import type { ReadinessTarget } from '@tapr/lib/health';
import { Informer, resourcePath, resourceSource, type KubeHttp, type KubeObject, type ObjectMeta, type ResourceType } from '@tapr/lib/kube';
import { annotations, type KubernetesLookups, type PodIdentity, type TokenReviewOutcome } from './kubernetes.js';

interface ConfigurationObject extends KubeObject {
  spec?: { accessControl?: { trustDomain?: string } };
}

interface CachedPod extends KubeObject {
  identity: PodIdentity;
}

interface CachedConfiguration extends KubeObject {
  trustDomain: string;
}

const pods: ResourceType = { group: '', version: 'v1', plural: 'pods', kind: 'Pod' };
const configurations: ResourceType = { group: 'dapr.io', version: 'v1alpha1', plural: 'configurations', kind: 'Configuration' };

function slimMeta(meta: ObjectMeta | undefined): ObjectMeta {
  return { name: meta?.name, namespace: meta?.namespace, resourceVersion: meta?.resourceVersion };
}

function slimPod(pod: V1Pod): CachedPod {
  const kept: Record<string, string> = {};
  for (const name of Object.values(annotations)) {
    const value = pod.metadata?.annotations?.[name];
    if (value !== undefined) kept[name] = value;
  }
  return {
    metadata: slimMeta(pod.metadata),
    identity: {
      namespace: pod.metadata?.namespace ?? '',
      name: pod.metadata?.name ?? '',
      serviceAccountName: pod.spec?.serviceAccountName ?? 'default',
      annotations: kept,
    },
  };
}

function slimConfiguration(configuration: ConfigurationObject): CachedConfiguration {
  return { metadata: slimMeta(configuration.metadata), trustDomain: configuration.spec?.accessControl?.trustDomain ?? '' };
}

export class KubeLookups implements KubernetesLookups {
  readonly #http: KubeHttp;
  readonly #pods: Informer<CachedPod, V1Pod & KubeObject>;
  readonly #configurations: Informer<CachedConfiguration, ConfigurationObject>;

  constructor(http: KubeHttp, logger: Logger) {
    this.#http = http;
    this.#pods = new Informer({ name: 'pods', source: resourceSource(http, pods), transform: slimPod, logger });
    this.#configurations = new Informer({ name: 'configurations.dapr.io', source: resourceSource(http, configurations), transform: slimConfiguration, logger });
  }

  /** Runs both informers; `readiness` turns ready once both have synced (Dapr's "validator ready"). */
  async run(signal: AbortSignal, readiness?: ReadinessTarget): Promise<void> {
    readiness?.notReady('syncing the pod and Configuration caches');
    const synced = Promise.all([this.#pods.whenSynced(signal), this.#configurations.whenSynced(signal)]).then(
      () => readiness?.ready(),
      () => undefined, // stopped before syncing
    );
    await Promise.all([this.#pods.run(signal), this.#configurations.run(signal), synced]);
  }

  ready(): boolean {
    return this.#pods.synced && this.#configurations.synced;
  }

  async tokenReview(token: string, audiences: string[]): Promise<TokenReviewOutcome> {
    const review = await this.#http.request<V1TokenReview>('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences } },
    });
    return { authenticated: review.status?.authenticated === true, username: review.status?.user?.username, error: review.status?.error || undefined };
  }

  async pod(namespace: string, name: string): Promise<PodIdentity | undefined> {
    const cached = this.#pods.get(namespace, name);
    if (cached) return cached.identity;
    const pod = await this.#http.getIfExists<V1Pod>(resourcePath(pods, namespace, name));
    return pod && slimPod(pod).identity;
  }

  async configurationTrustDomain(namespace: string, name: string): Promise<string | undefined> {
    const cached = this.#configurations.get(namespace, name);
    if (cached) return cached.trustDomain;
    const configuration = await this.#http.getIfExists<ConfigurationObject>(resourcePath(configurations, namespace, name));
    return configuration && slimConfiguration(configuration).trustDomain;
  }
}
