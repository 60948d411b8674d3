// Answers for identical admission requests. The replicas a ReplicaSet (or a Job) creates reach the webhook as
// byte-identical requests apart from the request uid — the pod has no name yet — so a scale-up to 100 replicas
// needs the answer built once. (A StatefulSet's or DaemonSet's pods differ — names, node affinity — and reuse
// only the daprd container: sidecarCache in admission.ts.) The key is the request body without its uid, plus the generation of
// everything else the answer depends on (trust anchors, mTLS setting, allowed controller UIDs); the value is the
// outcome's summary and the encoded response around the uid (not the patch: entries live long enough to be
// copied by the garbage collector, so they stay small). Bounded in entries and in body size; least recently used
// goes first.
import type { OutcomeSummary } from './admission.js';
import type { EncodedAnswer } from './admissionReview.js';
import { LruMap } from './lru.js';

export interface CachedAnswer {
  outcome: OutcomeSummary;
  answer: EncodedAnswer;
}

export class ReviewCache {
  readonly #entries: LruMap<string, CachedAnswer>;

  constructor(
    maxEntries = 128,
    private readonly maxBodyBytes = 16 * 1024,
  ) {
    this.#entries = new LruMap(maxEntries);
  }

  /** The cache key for a request, or undefined when the body is too large to keep. */
  key(body: string, uid: string, generation: string): string | undefined {
    if (body.length > this.maxBodyBytes) return undefined;
    const quoted = JSON.stringify(uid);
    const at = body.indexOf(quoted);
    if (at < 0) return undefined;
    return `${generation}\u0000${body.slice(0, at)}${body.slice(at + quoted.length)}`;
  }

  get(key: string): CachedAnswer | undefined {
    return this.#entries.get(key);
  }

  set(key: string, answer: CachedAnswer): void {
    this.#entries.set(key, answer);
  }

  get size(): number {
    return this.#entries.size;
  }
}
