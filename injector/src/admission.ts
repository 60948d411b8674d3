// Deciding one admission request: leave the pod alone, inject the sidecar (JSON Patch), or deny it with a message
// that names what to fix. Pure and synchronous except for the rare pod that asks for pluggable-component
// containers (a Component list). The HTTP edge (webhookServer.ts) turns the outcome into the AdmissionReview
// response and the metrics.
import { describeProblem, injectionRequested, readSidecarSettings, type AnnotationProblem } from './annotations.js';
import type { CallerAuthorisation, UserInfo } from './callerAuthorisation.js';
import { diffPatch, type Operation } from './jsonPatch.js';
import type { ContainerJson, PodJson } from './kubeTypes.js';
import { LruMap } from './lru.js';
import { hasSidecar, injectSidecar, podReferenceProblems } from './podMutation.js';
import type { SidecarTemplate } from './sidecarContainer.js';

export interface AdmissionRequest {
  uid: string;
  kind?: { group?: string; version?: string; kind?: string };
  operation?: string;
  namespace?: string;
  name?: string;
  userInfo?: UserInfo;
  object?: PodJson;
}

/** Why a pod was denied; the `reason` label of dapr_injector_sidecar_injection_failed_total. */
export type DenialReason = 'invalid_annotation' | 'unauthorised' | 'no_trust_anchors' | 'components_lookup';

export type Outcome =
  | { result: 'ignored' }
  | { result: 'unchanged'; appId: string }
  | { result: 'injected'; appId: string; patch: Operation[] }
  | { result: 'denied'; appId: string; reason: DenialReason; code: 400 | 403 | 500; message: string };

/** What the metrics and logs need of an outcome; a cached answer keeps this rather than the patch. */
export type OutcomeSummary =
  | { result: 'ignored' }
  | { result: 'unchanged' | 'injected'; appId: string }
  | { result: 'denied'; appId: string; reason: DenialReason; message: string };

export function summarise(outcome: Outcome): OutcomeSummary {
  switch (outcome.result) {
    case 'injected':
      return { result: 'injected', appId: outcome.appId };
    case 'denied':
      return { result: 'denied', appId: outcome.appId, reason: outcome.reason, message: outcome.message };
    default:
      return outcome;
  }
}

export interface AdmissionOptions {
  template: SidecarTemplate;
  authorisation: CallerAuthorisation;
  /** The PEM sidecars get as DAPR_TRUST_ANCHORS; "" when not loaded. */
  trustAnchors: () => string;
  mtlsEnabled: () => boolean;
  /** Pluggable-component containers for an app (from the namespace's Components). */
  componentContainers?: (appId: string, namespace: string) => Promise<ContainerJson[]>;
}

export class Admission {
  #anchors = '';
  #mtlsEnabled = false;
  #authorisationVersion = -1;
  #anchorsVersion = 0;
  #generation = '';
  // daprd containers by what they are built from (podMutation.ts): the pods of a StatefulSet or DaemonSet, or a
  // new ReplicaSet of a Deployment, differ (so the answer cache misses) but share their sidecar.
  readonly #sidecars = new LruMap<string, ContainerJson>(128);

  constructor(private readonly options: AdmissionOptions) {}

  /**
   * Names the state besides the request that answers depend on (trust anchors, mTLS setting, allowed UIDs):
   * answers cached under another generation are stale.
   */
  generation(): string {
    const anchors = this.options.trustAnchors();
    const mtlsEnabled = this.options.mtlsEnabled();
    const authorisationVersion = this.options.authorisation.version;
    if (anchors !== this.#anchors || mtlsEnabled !== this.#mtlsEnabled || authorisationVersion !== this.#authorisationVersion) {
      if (anchors !== this.#anchors) this.#anchorsVersion++;
      this.#anchors = anchors;
      this.#mtlsEnabled = mtlsEnabled;
      this.#authorisationVersion = authorisationVersion;
      this.#generation = `${this.#anchorsVersion}.${mtlsEnabled ? 1 : 0}.${authorisationVersion}`;
    }
    return this.#generation;
  }

  review(request: AdmissionRequest): Outcome | Promise<Outcome> {
    if (request.kind?.kind !== 'Pod' || (request.operation !== undefined && request.operation !== 'CREATE')) return { result: 'ignored' };
    const pod = request.object ?? {};
    const annotations = pod.metadata?.annotations;
    const gate = injectionRequested(annotations);
    const fallbackId = annotations?.['dapr.io/app-id'] ?? pod.metadata?.name ?? '';
    if (gate === 'skip') return { result: 'ignored' };
    if (gate !== 'inject') return invalid(fallbackId, [gate]);

    if (!this.options.authorisation.isAllowed(request.userInfo)) {
      const who = request.userInfo?.username ?? 'an unknown user';
      return {
        result: 'denied',
        appId: fallbackId,
        reason: 'unauthorised',
        code: 403,
        message:
          `${who} may not create pods with ${'dapr.io/enabled'}: "true": the sidecar carries the app's identity, so only workload ` +
          'controllers (Deployment, StatefulSet, Job, …), cluster admins and the service accounts in ALLOWED_SERVICE_ACCOUNTS or ' +
          'ALLOWED_SERVICE_ACCOUNTS_PREFIX_NAMES of the injector may create them. Create the pod through a Deployment, or ask the ' +
          'operator of Dapr to allow this service account.',
      };
    }

    // Re-invocation (reinvocationPolicy: IfNeeded) and hand-written sidecars: never a second daprd.
    if (hasSidecar(pod)) return { result: 'unchanged', appId: fallbackId };

    const { settings, problems } = readSidecarSettings(annotations);
    const appId = settings.appId ?? pod.metadata?.name ?? '';
    if (!appId) {
      problems.push({
        key: 'dapr.io/app-id',
        value: '',
        accepted: 'an app id: it is required when the pod has no name of its own yet (pods made by controllers get theirs from generateName)',
      });
    }
    problems.push(...podReferenceProblems(pod, settings));
    if (problems.length > 0) return invalid(appId, problems);

    // The anchors and mTLS setting the generation names, so the sidecar key below describes what is built.
    const generation = this.generation();
    const trustAnchorsPem = this.#anchors;
    const mtlsEnabled = this.#mtlsEnabled;
    if (!trustAnchorsPem) {
      return { result: 'denied', appId, reason: 'no_trust_anchors', code: 500, message: 'the injector has no trust anchors loaded yet; retry shortly' };
    }
    const namespace = request.namespace || pod.metadata?.namespace || 'default';
    // Settings come from the annotations alone: with the app id, namespace and generation they are all the
    // sidecar is built from besides the pod (whose part podMutation.ts adds to the key).
    const sidecarKey = `${generation}\u0000${namespace}\u0000${appId}\u0000${JSON.stringify(annotations)}`;
    const mutate = (injectedComponents?: ContainerJson[]): Outcome => {
      const mutated = injectSidecar(this.options.template, {
        pod,
        settings,
        appId,
        namespace,
        trustAnchorsPem,
        mtlsEnabled,
        injectedComponents,
        sidecars: { cache: this.#sidecars, key: sidecarKey },
      });
      return { result: 'injected', appId, patch: diffPatch(pod, mutated) };
    };
    if (!settings.injectPluggableComponents || !this.options.componentContainers) return mutate();
    return this.options.componentContainers(appId, namespace).then(mutate, (error: unknown) => ({
      result: 'denied' as const,
      appId,
      reason: 'components_lookup' as const,
      code: 500 as const,
      message: `cannot list the pluggable Components of namespace ${namespace} for dapr.io/inject-pluggable-components: ${(error as Error).message}`,
    }));
  }
}

function invalid(appId: string, problems: AnnotationProblem[]): Outcome {
  return { result: 'denied', appId, reason: 'invalid_annotation', code: 400, message: `dapr sidecar injection refused: ${problems.map(describeProblem).join('; ')}` };
}
