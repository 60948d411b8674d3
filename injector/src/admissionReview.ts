// The AdmissionReview envelope (admission.k8s.io/v1, and v1beta1 which has the same shape): reading the request
// out of a body and writing the response the API server expects — uid echoed, patch base64-encoded JSON Patch,
// denials as a Status whose message the user sees ("admission webhook … denied the request: <message>").
import type { AdmissionRequest, Outcome } from './admission.js';

const apiVersions = new Set(['admission.k8s.io/v1', 'admission.k8s.io/v1beta1']);

/** A request the webhook cannot read: answered with HTTP 400 and this message. */
export class MalformedReview extends Error {}

export interface ParsedReview {
  apiVersion: string;
  request: AdmissionRequest;
}

export function parseAdmissionReview(body: string): ParsedReview {
  let review: unknown;
  try {
    review = JSON.parse(body);
  } catch (error) {
    throw new MalformedReview(`the request body is not JSON: ${(error as Error).message}`);
  }
  if (typeof review !== 'object' || review === null || Array.isArray(review)) throw new MalformedReview('the request body is not a JSON object');
  const { apiVersion, kind, request } = review as { apiVersion?: unknown; kind?: unknown; request?: unknown };
  if (kind !== 'AdmissionReview') throw new MalformedReview(`expected kind "AdmissionReview", got ${JSON.stringify(kind)}`);
  if (typeof apiVersion !== 'string' || !apiVersions.has(apiVersion)) {
    throw new MalformedReview(`unsupported apiVersion ${JSON.stringify(apiVersion)}: expected admission.k8s.io/v1 or admission.k8s.io/v1beta1`);
  }
  if (typeof request !== 'object' || request === null) throw new MalformedReview('the AdmissionReview has no "request"');
  const { uid, object } = request as { uid?: unknown; object?: unknown };
  if (typeof uid !== 'string' || uid === '') throw new MalformedReview('request.uid is missing');
  if (object !== undefined && object !== null && (typeof object !== 'object' || Array.isArray(object))) {
    throw new MalformedReview('request.object is not an object');
  }
  return { apiVersion, request: request as AdmissionRequest };
}

export function admissionResponse(apiVersion: string, uid: string, outcome: Outcome): string {
  let response: Record<string, unknown>;
  switch (outcome.result) {
    case 'injected':
      response = { uid, allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(outcome.patch)).toString('base64') };
      break;
    case 'denied':
      response = {
        uid,
        allowed: false,
        status: { status: 'Failure', code: outcome.code, reason: statusReasons[outcome.code], message: outcome.message },
      };
      break;
    default:
      response = { uid, allowed: true };
  }
  return JSON.stringify({ apiVersion, kind: 'AdmissionReview', response });
}

const statusReasons = { 400: 'BadRequest', 403: 'Forbidden', 500: 'InternalError' } as const;
