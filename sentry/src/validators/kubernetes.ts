// The KUBERNETES validator (spec §2.7): the token is a service-account token, checked with a TokenReview for
// sentry's audiences; the pod named in the token decides the identity — its `dapr.io/app-id` annotation or its
// name, in its namespace, or a fixed control-plane identity for pods annotated `dapr.io/control-plane` in sentry's
// namespace. A pod can therefore only ever get its own identity; the request's id and namespace must match it.
import { controlPlaneServices } from '@tapr/lib';
import { ValidationError, validateCommon, type SignRequest, type ValidationResult, type Validator } from './validator.js';

export const legacySentryAudience = 'dapr.io/sentry';

export const annotations = {
  appId: 'dapr.io/app-id',
  controlPlane: 'dapr.io/control-plane',
  config: 'dapr.io/config',
} as const;

/** What the validator needs to know about a pod. */
export interface PodIdentity {
  namespace: string;
  name: string;
  serviceAccountName: string;
  annotations: Record<string, string>;
}

export interface TokenReviewOutcome {
  authenticated: boolean;
  username?: string;
  error?: string;
}

/** The cluster, as the validator sees it (real: TokenReview + informers; tests: fakes). */
export interface KubernetesLookups {
  /** False until the pod and Configuration caches have synced. */
  ready(): boolean;
  tokenReview(token: string, audiences: string[]): Promise<TokenReviewOutcome>;
  pod(namespace: string, name: string): Promise<PodIdentity | undefined>;
  /** The Configuration's `spec.accessControl.trustDomain` ('' when unset); undefined when it does not exist. */
  configurationTrustDomain(namespace: string, name: string): Promise<string | undefined>;
}

export interface KubernetesValidatorOptions {
  lookups: KubernetesLookups;
  /** Sentry's SPIFFE ID, the second audience tokens must carry. */
  sentryId: string;
  controlPlaneNamespace: string;
  controlPlaneTrustDomain: string;
}

export class KubernetesValidator implements Validator {
  readonly name = 'KUBERNETES' as const;
  constructor(private readonly options: KubernetesValidatorOptions) {}

  async validate(request: SignRequest): Promise<ValidationResult> {
    const { lookups } = this.options;
    if (!lookups.ready()) throw new ValidationError('unavailable', 'validator not ready: the pod and Configuration caches are still syncing');
    validateCommon(request);

    const review = await lookups.tokenReview(request.token, [legacySentryAudience, this.options.sentryId]).catch((error: unknown) => {
      throw new ValidationError('unavailable', `token review failed: ${(error as Error).message}`, { cause: error });
    });
    if (review.error) throw new ValidationError('unauthenticated', `invalid token: ${review.error}`);
    if (!review.authenticated) throw new ValidationError('unauthenticated', 'authentication failed: the token was not accepted for the sentry audiences');
    const parts = (review.username ?? '').split(':');
    if (parts.length !== 4 || parts[0] !== 'system') {
      throw new ValidationError('unauthenticated', 'provided token is not a properly structured service account token');
    }
    const [, , saNamespace, saName] = parts as [string, string, string, string];

    const podName = podNameClaim(request.token);
    if (!podName) throw new ValidationError('unauthenticated', 'kubernetes.io/pod/name claim is missing from Kubernetes token: use a token bound to the pod');
    const pod = await lookups.pod(saNamespace, podName).catch((error: unknown) => {
      throw new ValidationError('unavailable', `failed to get pod of identity: ${(error as Error).message}`, { cause: error });
    });
    if (!pod) throw new ValidationError('permission-denied', `failed to get pod of identity: pod ${saNamespace}/${podName} does not exist`);
    if (saNamespace !== request.namespace) {
      throw new ValidationError('permission-denied', `namespace mismatch; received namespace: ${request.namespace}, the token is for namespace ${saNamespace}`);
    }
    if (pod.serviceAccountName !== saName) throw new ValidationError('permission-denied', 'pod service account mismatch');

    const expected = this.#expectedId(pod);
    if (expected.id !== request.id) {
      throw new ValidationError('permission-denied', `app-id mismatch. expected: ${expected.id}, received: ${request.id}`);
    }
    if (expected.controlPlane) return { trustDomain: this.options.controlPlaneTrustDomain };

    const configName = pod.annotations[annotations.config];
    if (configName === undefined) return { trustDomain: 'public' };
    const trustDomain = await lookups.configurationTrustDomain(request.namespace, configName).catch((error: unknown) => {
      throw new ValidationError('unavailable', `failed to get configuration ${configName}: ${(error as Error).message}`, { cause: error });
    });
    if (trustDomain === undefined) {
      throw new ValidationError('permission-denied', `failed to get configuration: Configuration ${request.namespace}/${configName} named by the pod's ${annotations.config} annotation does not exist`);
    }
    if (trustDomain === '') return { trustDomain: 'public' };
    if (!/^[a-z0-9._-]+$/.test(trustDomain)) {
      throw new ValidationError('permission-denied', `failed to parse trust domain "${trustDomain}" of Configuration ${request.namespace}/${configName}`);
    }
    return { trustDomain };
  }

  #expectedId(pod: PodIdentity): { id: string; controlPlane: boolean } {
    const service = pod.annotations[annotations.controlPlane];
    const appId = pod.annotations[annotations.appId];
    if (service !== undefined) {
      if (pod.namespace !== this.options.controlPlaneNamespace) {
        throw new ValidationError('permission-denied', `control plane service in namespace '${pod.namespace}' is not allowed`);
      }
      if (!(controlPlaneServices as readonly string[]).includes(service)) {
        throw new ValidationError('permission-denied', `unknown control plane service '${service}' on pod ${pod.name}`);
      }
      if (appId !== undefined) {
        throw new ValidationError('permission-denied', `control plane service '${pod.name}' cannot have annotation '${annotations.appId}'`);
      }
      return { id: `dapr-${service}`, controlPlane: true };
    }
    return { id: appId ?? pod.name, controlPlane: false };
  }
}

/**
 * The pod name from the token's `kubernetes.io.pod.name` claim, read without verifying the signature (the
 * TokenReview did that). Accepts a compact JWT, or a bare JSON claims object as Dapr's parser does.
 */
export function podNameClaim(token: string): string | undefined {
  let claims: unknown;
  try {
    const parts = token.split('.');
    claims = parts.length === 3 ? JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString('utf8')) : JSON.parse(token);
  } catch {
    return undefined;
  }
  const name = (claims as { 'kubernetes.io'?: { pod?: { name?: unknown } } } | null)?.['kubernetes.io']?.pod?.name;
  return typeof name === 'string' && name !== '' ? name : undefined;
}
