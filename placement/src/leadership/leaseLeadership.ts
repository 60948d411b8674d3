// Leader election with a Kubernetes Lease (tapr's replacement for Dapr's Raft election, spec §3.6), run by lib's
// LeaderElector (client-go's algorithm: followers take a Lease that is released or has not been renewed for the
// lease duration on their own clock; the leader renews every retry period and gives up past the renew deadline).
// Placement differs from the operator in two ways:
//   - Every renewal records the actor hosts per namespace on the Lease; the next leader waits for that many
//     before its first dissemination (settle.ts). A release keeps the record, so a graceful hand-over has it too.
//   - Like Dapr's placement ("lost leadership" exits the process), a leader that loses the Lease does not
//     campaign again in-process: run() rejects with LostLeadershipError and the pod restarts as a follower.
// On shutdown the leader releases the Lease, so a follower takes over within one retry period.
import type { Logger } from '@tapr/lib/logger';
import type { KubeHttp } from '@tapr/lib/kube/kubeHttp';
import { LeaderElector } from '@tapr/lib/kube/leaderElection';
import { LostLeadershipError, type Leadership, type LeadershipEvents } from './leadership.js';

export const defaultLeaseName = 'dapr-placement-leader';

/** Annotation on the Lease: actor hosts per namespace the leader had (JSON), for the next leader's wait. */
export const actorHostsAnnotation = 'placement.tapr.dev/actor-hosts';

export interface LeaseLeadershipOptions {
  http: KubeHttp;
  /** The control-plane namespace (the Lease's). */
  namespace: string;
  leaseName?: string;
  /** Holder identity: the placement `--id` (the pod name in Helm's HA setup). */
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  logger: Logger;
  /** For tests: the clock. */
  now?: () => number;
}

export class LeaseLeadership implements Leadership {
  constructor(private readonly options: LeaseLeadershipOptions) {}

  get lease(): string {
    return `${this.options.namespace}/${this.options.leaseName ?? defaultLeaseName}`;
  }

  async run(signal: AbortSignal, events: LeadershipEvents): Promise<void> {
    const { options } = this;
    const campaign = new AbortController();
    const stop = () => campaign.abort();
    signal.addEventListener('abort', stop, { once: true });
    let lost: LostLeadershipError | undefined;
    const elector = new LeaderElector({
      http: options.http,
      namespace: options.namespace,
      name: options.leaseName ?? defaultLeaseName,
      identity: options.identity,
      leaseDurationMs: options.leaseDurationMs,
      renewDeadlineMs: options.renewDeadlineMs,
      retryPeriodMs: options.retryPeriodMs,
      logger: options.logger,
      now: options.now,
      annotations: () => ({ [actorHostsAnnotation]: JSON.stringify(events.record()) }),
    });
    try {
      await elector.run(campaign.signal, async (leading, term) => {
        const expected = parseActorHosts(term.previousAnnotations[actorHostsAnnotation]);
        options.logger.info('leading placement', { lease: this.lease, previousActorHosts: expected ?? 'none recorded' });
        events.elected(expected);
        if (!leading.aborted) await new Promise((resolve) => leading.addEventListener('abort', resolve, { once: true }));
        if (!signal.aborted) {
          // The elector logged why (renew deadline passed, or another replica holds the Lease).
          lost = new LostLeadershipError(`the Lease ${this.lease} could not be renewed or is held by another replica`);
          campaign.abort();
        }
      });
    } finally {
      signal.removeEventListener('abort', stop);
    }
    if (lost) throw lost;
  }
}

/** The annotation's counts, or undefined when absent or not a JSON object of non-negative integers. */
export function parseActorHosts(text: string | undefined): Record<string, number> | undefined {
  if (!text) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const entries = Object.entries(value as Record<string, unknown>);
    if (!entries.every(([, n]) => Number.isInteger(n) && (n as number) >= 0)) return undefined;
    return Object.fromEntries(entries) as Record<string, number>;
  } catch {
    return undefined;
  }
}
