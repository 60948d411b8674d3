// How the published trust anchors (the ConfigMap's ca.crt) relate to the stored bundle: the authority publishes
// when they are missing or lag behind its own rotation, and refuses to sign when a user bundle's issuing root is
// not published — certificates that workloads could not verify.
import type { X509Certificate } from 'node:crypto';
import { decodeCertificates } from '@tapr/lib/security/pem';
import type { TrustBundle } from './bundle.js';
import type { StoredBundle } from './store.js';

export type PublicationState =
  /** The store publishes through the bundle entries themselves (a directory). */
  | { kind: 'not-separate' }
  | { kind: 'same' }
  /** Nothing published, or nothing readable. */
  | { kind: 'missing'; unreadable?: string }
  | { kind: 'differs'; includesActiveRoot: boolean };

export function publicationState(bundle: TrustBundle, stored: StoredBundle): PublicationState {
  if (!stored.published) return { kind: 'not-separate' };
  const pem = stored.published.anchors;
  if (!pem) return { kind: 'missing' };
  let published: Buffer[];
  try {
    published = decodeCertificates(pem, 'published trust anchors');
  } catch (error) {
    return { kind: 'missing', unreadable: (error as Error).message };
  }
  const includes = (cert: X509Certificate) => published.some((p) => p.equals(cert.raw));
  if (published.length === bundle.anchors.length && bundle.anchors.every(includes)) return { kind: 'same' };
  return { kind: 'differs', includesActiveRoot: includes(bundle.activeRoot) };
}

/** Whether `cert` is among the published anchors (always true for stores without a separate public copy). */
export function publishes(stored: StoredBundle, cert: X509Certificate | undefined): boolean {
  if (!cert || !stored.published) return true;
  try {
    return decodeCertificates(stored.published.anchors ?? '', 'published trust anchors').some((p) => p.equals(cert.raw));
  } catch {
    return false;
  }
}
