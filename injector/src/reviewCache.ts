// Answers for identical admission requests. The replicas a ReplicaSet (or Job, StatefulSet) creates reach the
// webhook as byte-identical requests apart from the request uid — the pod has no name yet — so a scale-up to 100
// replicas needs the sidecar built once. The key is the request body without its uid, plus the generation of
// everything else the answer depends on (trust anchors, mTLS setting, allowed controller UIDs); the value is the
// outcome and the response around the uid. Bounded in entries and in body size; least recently used goes first.
import type { Outcome } from './admission.js';

export interface CachedAnswer {
  outcome: Outcome;
  before: string;
  after: string;
}

export class ReviewCache {
  readonly #entries = new Map<string, CachedAnswer>();

  constructor(
    private readonly maxEntries = 128,
    private readonly maxBodyBytes = 16 * 1024,
  ) {}

  /** The cache key for a request, or undefined when the body is too large to keep. */
  key(body: string, uid: string, generation: string): string | undefined {
    if (body.length > this.maxBodyBytes) return undefined;
    const quoted = JSON.stringify(uid);
    const at = body.indexOf(quoted);
    if (at < 0) return undefined;
    return `${generation}\u0000${body.slice(0, at)}${body.slice(at + quoted.length)}`;
  }

  get(key: string): CachedAnswer | undefined {
    const answer = this.#entries.get(key);
    if (answer) {
      this.#entries.delete(key);
      this.#entries.set(key, answer);
    }
    return answer;
  }

  set(key: string, answer: CachedAnswer): void {
    this.#entries.delete(key);
    this.#entries.set(key, answer);
    if (this.#entries.size > this.maxEntries) this.#entries.delete(this.#entries.keys().next().value as string);
  }

  get size(): number {
    return this.#entries.size;
  }
}
