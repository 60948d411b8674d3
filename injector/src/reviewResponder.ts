// From a request body to the response bytes: read the AdmissionReview, reuse the answer of an identical earlier
// request (replicas; reviewCache.ts) or decide afresh (admission.ts), and encode the answer around the uid.
// Free of HTTP, so the whole answering path can be tested and measured in-process; webhookServer.ts is the edge.
import { summarise, type Admission, type AdmissionRequest, type Outcome, type OutcomeSummary } from './admission.js';
import { answerText, encodeAnswer, parseAdmissionReview } from './admissionReview.js';
import type { ReviewCache } from './reviewCache.js';

export interface Reply {
  request: AdmissionRequest;
  outcome: OutcomeSummary;
  /** The AdmissionReview response, JSON. */
  text: string;
}

export class ReviewResponder {
  constructor(
    private readonly admission: Admission,
    private readonly cache?: ReviewCache,
  ) {}

  /** Throws MalformedReview for a body that is not a readable AdmissionReview (HTTP 400 at the edge). */
  respond(body: string): Reply | Promise<Reply> {
    const { apiVersion, request } = parseAdmissionReview(body);
    const key = this.cache?.key(body, request.uid, this.admission.generation());
    const cached = key === undefined ? undefined : this.cache!.get(key);
    if (cached) return { request, outcome: cached.outcome, text: answerText(cached.answer, request.uid) };

    const outcome = this.admission.review(request);
    // Only pods asking for pluggable components look the Components up; their answer is not cached.
    if (outcome instanceof Promise) return outcome.then((settled) => this.reply(request, apiVersion, settled));
    return this.reply(request, apiVersion, outcome, key);
  }

  private reply(request: AdmissionRequest, apiVersion: string, outcome: Outcome, key?: string): Reply {
    const answer = encodeAnswer(apiVersion, outcome);
    const summary = summarise(outcome);
    if (key !== undefined) this.cache!.set(key, { outcome: summary, answer });
    return { request, outcome: summary, text: answerText(answer, request.uid) };
  }
}
