// Answers for identical admission requests. The replicas a ReplicaSet (or a Job) creates reach the webhook as
// byte-identical requests apart from the request uid — the pod has no name yet — so a scale-up to 100 replicas
// needs the answer built twice (see below) rather than 100 times. (A StatefulSet's or DaemonSet's pods differ —
// names, node affinity — and reuse only the daprd container: sidecarCache in admission.ts.)
//
// The key is a SHA-256 digest of the request body without its uid, plus the generation of everything else the
// answer depends on (trust anchors, mTLS setting, allowed controller UIDs): a 44-character string rather than the
// 2 kB body, so the map hashes and holds little. The value is the outcome's summary and the encoded response
// around the uid (not the patch).
//
// An answer is kept only when its key has been seen before: most pods are one of a kind (every pod of a
// StatefulSet or DaemonSet, the first of each ReplicaSet), and keeping each of their 4 kB answers for the next
// 128 requests made them live long enough for the garbage collector to copy and promote — a cost every distinct
// pod paid for nothing. Keys seen once are remembered in a second, cheap LRU; the second replica of a scale-up
// stores the answer, the third onwards reuse it. Both are bounded in entries; bodies past a size are not keyed.
import * as crypto from 'node:crypto';
import type { OutcomeSummary } from './admission.js';
import type { EncodedAnswer } from './admissionReview.js';
import { LruMap } from './lru.js';

// The one-shot crypto.hash is Node ≥ 20.12; the package allows any Node 20, so createHash where it is missing
// (a namespace import, so an older Node still loads this module).
const sha256Base64: (text: string) => string =
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('sha256', text, 'base64')
    : (text) => crypto.createHash('sha256').update(text).digest('base64');

export interface CachedAnswer {
  outcome: OutcomeSummary;
  answer: EncodedAnswer;
}

export class ReviewCache {
  readonly #entries: LruMap<string, CachedAnswer>;
  readonly #seenOnce: LruMap<string, true>;

  constructor(
    maxEntries = 128,
    private readonly maxBodyBytes = 16 * 1024,
    maxSeenOnce = 4 * maxEntries,
  ) {
    this.#entries = new LruMap(maxEntries);
    this.#seenOnce = new LruMap(maxSeenOnce);
  }

  /** The cache key for a request, or undefined when the body is too large to keep. */
  key(body: string, uid: string, generation: string): string | undefined {
    if (body.length > this.maxBodyBytes) return undefined;
    const quoted = JSON.stringify(uid);
    const at = body.indexOf(quoted);
    if (at < 0) return undefined;
    return sha256Base64(`${generation}\u0000${body.slice(0, at)}${body.slice(at + quoted.length)}`);
  }

  get(key: string): CachedAnswer | undefined {
    return this.#entries.get(key);
  }

  /** Keeps the answer if the key was seen before; otherwise remembers the key only. */
  set(key: string, answer: CachedAnswer): void {
    if (this.#seenOnce.delete(key)) this.#entries.set(key, answer);
    else this.#seenOnce.set(key, true);
  }

  get size(): number {
    return this.#entries.size;
  }
}
