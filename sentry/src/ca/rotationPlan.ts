// When a managed trust bundle needs its next rotation step — a pure function of the bundle, the time and the
// policy, so every sentry replica reaches the same decision and a step interrupted by a crash is simply planned
// again. Steps, for a root R (life L) and its issuer I:
//   renew-issuer          at 2/3 of I's life: a new issuer under the same root; peers need nothing new.
//   add-next-root         at 2/3 of L: a new root N is published next to R (trust anchors = R + N); sentry still
//                         signs with I, so every certificate verifies against old and new bundles alike.
//   switch-to-next-root   at 5/6 of L (and at least L/6 after N appeared): a new issuer under N signs from now on;
//                         R moves to the previous roots. Peers that picked up R + N during the overlap accept both.
//   retire-previous-roots once every certificate signed under R has expired (workload TTL + clock skew + one poll
//                         after the switch): R leaves the trust anchors.
import type { X509Certificate } from 'node:crypto';
import { notAfter, notBefore, type TrustBundle } from './bundle.js';

export interface RotationPolicy {
  /** Lifetime of a root sentry generates. */
  rootTtlMs: number;
  /** Lifetime of an issuer sentry generates (never beyond its root). */
  issuerTtlMs: number;
  allowedClockSkewMs: number;
  workloadCertTtlMs: number;
  /** How often replicas re-read the stored bundle: the longest a replica may keep signing with a replaced issuer. */
  pollIntervalMs: number;
}

export type RotationStep =
  | { kind: 'renew-issuer'; reason: string }
  | { kind: 'add-next-root'; reason: string }
  | { kind: 'switch-to-next-root'; reason: string }
  | { kind: 'retire-previous-roots'; roots: X509Certificate[]; reason: string };

export interface RotationPlan {
  step?: RotationStep;
  /** When the next step falls due (if nothing changes before). */
  nextCheckAt?: Date;
}

const lifeMs = (cert: X509Certificate) => notAfter(cert).getTime() - notBefore(cert).getTime();
const at = (cert: X509Certificate, fraction: number) => notBefore(cert).getTime() + lifeMs(cert) * fraction;

export function planRotation(bundle: TrustBundle, now: Date, policy: RotationPolicy): RotationPlan {
  if (!bundle.rootKey) return {};
  const t = now.getTime();
  const root = bundle.activeRoot;
  const issuer = bundle.issuerChain[0] as X509Certificate;
  const issuerExpired = t >= notAfter(issuer).getTime();
  const due: number[] = [];

  // When the active issuer started signing: generated issuers are backdated by the clock skew.
  const issuerStartedAt = notBefore(issuer).getTime() + policy.allowedClockSkewMs;
  const retireAt = (previous: X509Certificate) =>
    Math.min(notAfter(previous).getTime(), issuerStartedAt + policy.workloadCertTtlMs + policy.allowedClockSkewMs + policy.pollIntervalMs);
  const retiring = bundle.previousRoots.filter((previous) => t >= retireAt(previous));
  if (retiring.length > 0) {
    return { step: { kind: 'retire-previous-roots', roots: retiring, reason: 'no certificate signed under these roots can still be valid' } };
  }
  due.push(...bundle.previousRoots.map(retireAt));

  if (bundle.nextRoot) {
    const publishedAt = notBefore(bundle.nextRoot.cert).getTime() + policy.allowedClockSkewMs;
    const latest = notAfter(root).getTime() - policy.workloadCertTtlMs - policy.allowedClockSkewMs;
    const switchAt = Math.min(Math.max(at(root, 5 / 6), publishedAt + lifeMs(root) / 6), latest);
    if (t >= switchAt || issuerExpired) {
      const reason = issuerExpired ? 'the issuer has expired' : t >= latest ? 'the root is about to expire' : 'the overlap period is over';
      return { step: { kind: 'switch-to-next-root', reason } };
    }
    due.push(switchAt);
  } else {
    const rotateAt = at(root, 2 / 3);
    if (t >= rotateAt) return { step: { kind: 'add-next-root', reason: `the root passed 2/3 of its lifetime (expires ${notAfter(root).toISOString()})` } };
    due.push(rotateAt);
    const renewAt = at(issuer, 2 / 3);
    if (t >= renewAt || issuerExpired) {
      return { step: { kind: 'renew-issuer', reason: issuerExpired ? 'the issuer has expired' : `the issuer passed 2/3 of its lifetime (expires ${notAfter(issuer).toISOString()})` } };
    }
    due.push(renewAt);
  }
  const next = Math.min(...due);
  return Number.isFinite(next) ? { nextCheckAt: new Date(next) } : {};
}

export type ExpiringCertificate = 'root' | 'issuer';

export interface ExpiryWarning {
  certificate: ExpiringCertificate;
  subject: string;
  notAfter: Date;
  expired: boolean;
}

const ninetyDaysMs = 90 * 24 * 3_600_000;

/**
 * Certificates close enough to expiry that a person must act. For a root sentry does not manage (bring-your-own),
 * nothing will renew it: warn within min(1/3 of its life, 90 days). For a managed bundle the rotation steps above
 * act long before, so a warning (within 1/6 of the life) means rotation is stuck (e.g. the Secret cannot be written).
 */
export function expiryWarnings(bundle: TrustBundle, now: Date): ExpiryWarning[] {
  const managed = bundle.rootKey !== undefined;
  const window = (cert: X509Certificate) => (managed ? lifeMs(cert) / 6 : Math.min(lifeMs(cert) / 3, ninetyDaysMs));
  const check = (certificate: ExpiringCertificate, cert: X509Certificate): ExpiryWarning[] => {
    const end = notAfter(cert);
    if (end.getTime() - now.getTime() > window(cert)) return [];
    return [{ certificate, subject: cert.subject?.replace(/\n/g, ', ') ?? '', notAfter: end, expired: now.getTime() >= end.getTime() }];
  };
  const issuer = bundle.issuerChain[0] as X509Certificate;
  // During a root rotation the old root is expected to approach its end; the incoming root is what matters.
  const root = managed && bundle.nextRoot ? bundle.nextRoot.cert : bundle.activeRoot;
  return [...check('root', root), ...check('issuer', issuer)];
}
