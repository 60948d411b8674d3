// The AdmissionReview envelope (admission.k8s.io/v1, and v1beta1 which has the same shape): reading the request
// out of a body and writing the response the API server expects — uid echoed, patch base64-encoded JSON Patch,
// denials as a Status whose message the user sees ("admission webhook … denied the request: <message>").
import type { AdmissionRequest, Outcome } from './admission.js';
import { patchJson } from './jsonPatch.js';

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

/**
 * An answer ready to send for any request with the same object: the response text before and after the uid
 * (`head + JSON.stringify(uid) + tail`). The patch is serialised and base64-encoded once. Kept as text rather
 * than bytes: a Buffer past 4 kB is an allocation of its own, dearer than encoding the text into the socket.
 */
export interface EncodedAnswer {
  head: string;
  tail: string;
}

const headFor = (apiVersion: string) => `{"apiVersion":${JSON.stringify(apiVersion)},"kind":"AdmissionReview","response":{"uid":`;
const heads = new Map([...apiVersions].map((apiVersion) => [apiVersion, headFor(apiVersion)]));

export function encodeAnswer(apiVersion: string, outcome: Outcome): EncodedAnswer {
  const head = heads.get(apiVersion) ?? headFor(apiVersion);
  switch (outcome.result) {
    case 'injected': {
      const patch = base64Utf8(patchJson(outcome.patch));
      return { head, tail: `,"allowed":true,"patchType":"JSONPatch","patch":"${patch}"}}` };
    }
    case 'denied': {
      const status = { status: 'Failure', code: outcome.code, reason: statusReasons[outcome.code], message: outcome.message };
      return { head, tail: `,"allowed":false,"status":${JSON.stringify(status)}}}` };
    }
    default:
      return { head, tail: ',"allowed":true}}' };
  }
}

/**
 * Base64 of the text's UTF-8 bytes. Patches are nearly always ASCII (as many UTF-8 bytes as characters), where
 * the UTF-8 bytes are the Latin-1 ones and `btoa` encodes the string directly, without a Buffer in between.
 */
export function base64Utf8(text: string): string {
  return Buffer.byteLength(text) === text.length ? btoa(text) : Buffer.from(text).toString('base64');
}

/** The response for one request. */
export function answerText(answer: EncodedAnswer, uid: string): string {
  return answer.head + JSON.stringify(uid) + answer.tail;
}

export function admissionResponse(apiVersion: string, uid: string, outcome: Outcome): string {
  return answerText(encodeAnswer(apiVersion, outcome), uid);
}

const statusReasons = { 400: 'BadRequest', 403: 'Forbidden', 500: 'InternalError' } as const;
