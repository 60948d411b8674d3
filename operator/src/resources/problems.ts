// Reporting resources that are stored but wrong: each problem is logged, counted in the metrics and recorded as a
// Warning Event on the object; the operator keeps serving. A problem is reported once per object version.
import type { Logger } from '@tapr/lib/logger';
import type { EventRecorder, InformerHandler } from '@tapr/lib/kube';
import type { OperatorMetrics } from '../metrics.js';
import { describe, type Component, type DaprResource } from './kinds.js';
import type { SecretResolutionError } from './secrets.js';
import { validateComponent, type Problem } from './validation.js';

export interface ProblemReporterOptions {
  logger: Logger;
  recorder?: EventRecorder;
  metrics?: OperatorMetrics;
}

export class ProblemReporter {
  readonly #invalid = new Map<string, Set<string>>();
  readonly #reported = new Set<string>();

  constructor(private readonly options: ProblemReporterOptions) {}

  /** Validates every Component as it is added or changed. */
  componentHandler(): InformerHandler<Component> {
    return {
      added: (component) => this.#checkComponent(component),
      updated: (_previous, component) => this.#checkComponent(component),
      removed: (component) => this.#setInvalid('Component', component, false),
    };
  }

  /** Names of the resources of a kind currently known to be invalid (`namespace/name`). */
  invalid(kind: string): string[] {
    return [...(this.#invalid.get(kind) ?? [])];
  }

  secretFailure(kind: string, resource: DaprResource, error: SecretResolutionError): void {
    this.options.metrics?.secretFailures.inc({ kind, failure: error.failure });
    this.#report(kind, resource, [{ reason: 'SecretNotResolved', message: error.message }]);
  }

  #checkComponent(component: Component): void {
    const problems = validateComponent(component);
    this.#setInvalid('Component', component, problems.length > 0);
    if (problems.length > 0) this.#report('Component', component, problems);
  }

  #report(kind: string, resource: DaprResource, problems: Array<Problem | { reason: string; message: string }>): void {
    const version = `${resource.metadata?.uid}/${resource.metadata?.resourceVersion}`;
    const fresh = problems.filter((problem) => !this.#reported.has(`${version}/${problem.reason}/${problem.message}`));
    if (fresh.length === 0) return;
    for (const problem of fresh) {
      this.#reported.add(`${version}/${problem.reason}/${problem.message}`);
      this.options.metrics?.resourceProblems.inc({ kind, reason: problem.reason });
    }
    if (this.#reported.size > 10_000) this.#reported.clear();
    const message = fresh.map((problem) => problem.message).join('; ');
    this.options.logger.warn(`${kind} has problems; sidecars may fail to load it`, {
      resource: describe(resource),
      reasons: [...new Set(fresh.map((problem) => problem.reason))].join(','),
      problems: message,
    });
    for (const reason of new Set(fresh.map((problem) => problem.reason))) {
      const text = fresh
        .filter((problem) => problem.reason === reason)
        .map((problem) => problem.message)
        .join('; ');
      this.options.recorder?.warning(resource, reason, text);
    }
  }

  #setInvalid(kind: string, resource: DaprResource, invalid: boolean): void {
    let set = this.#invalid.get(kind);
    if (!set) {
      set = new Set();
      this.#invalid.set(kind, set);
    }
    const key = describe(resource);
    if (invalid) set.add(key);
    else set.delete(key);
    this.options.metrics?.invalidResources.set({ kind }, set.size);
  }
}
