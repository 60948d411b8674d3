// Who may serve sidecars. Dapr 1.17 elects the placement leader with Raft among `--initial-cluster` peers and
// replicates nothing else; tapr elects with a Kubernetes Lease instead (leaseLeadership.ts) and, like Dapr, a
// leader that loses leadership stops the process (the pod restarts and rejoins as a follower).

export interface LeadershipEvents {
  /** This node is now the leader. `expected`: actor hosts per namespace the previous leader last recorded. */
  elected(expected: Record<string, number> | undefined): void;
  /** What to record for the next leader, read on every renewal: actor hosts per namespace. */
  record(): Record<string, number>;
}

export interface Leadership {
  /** Runs until `signal` aborts (a leader then steps down cleanly); throws LostLeadershipError if ousted. */
  run(signal: AbortSignal, events: LeadershipEvents): Promise<void>;
}

export class LostLeadershipError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(`lost leadership: ${message}`, options);
    this.name = 'LostLeadershipError';
  }
}

/** One placement instance (self-hosted, or a single replica): it is the leader from the start. */
export class SingleNodeLeadership implements Leadership {
  async run(signal: AbortSignal, events: LeadershipEvents): Promise<void> {
    events.elected(undefined);
    if (signal.aborted) return;
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  }
}
