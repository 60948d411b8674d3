import { X509Certificate, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { notAfter, notBefore, verifyTrustBundle, type BundleMaterial, type TrustBundle } from './bundle.js';
import { expiryWarnings, planRotation, type RotationPolicy, type RotationStep } from './rotationPlan.js';
import { applyRotationStep, generateBundle } from './rotationSteps.js';
import { LeafSigner } from '../x509/leafSigner.js';

const minute = 60_000;
const policy: RotationPolicy = {
  rootTtlMs: 60 * minute,
  issuerTtlMs: 30 * minute,
  allowedClockSkewMs: 30_000,
  workloadCertTtlMs: 5 * minute,
  pollIntervalMs: 1000,
};
const ctxAt = (now: Date) => ({ trustDomain: 'cluster.local', namespace: 'dapr-system', now, policy });
const workloadKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });

function expectTick(actual: number | undefined, due: number): void {
  expect(actual).toBeGreaterThanOrEqual(due);
  expect(actual).toBeLessThan(due + 10_000);
}

function chainsTo(cert: X509Certificate, parent: X509Certificate): boolean {
  return cert.checkIssued(parent) && cert.verify(parent.publicKey);
}

describe('planRotation', () => {
  describe('when run over three root lifetimes with a leaf issued every 10 seconds', () => {
    const steps: Array<{ at: number; step: RotationStep }> = [];
    const violations: string[] = [];
    const t0 = Date.UTC(2030, 0, 1);

    beforeAll(async () => {
      let bundle: TrustBundle = verifyTrustBundle(await generateBundle(ctxAt(new Date(t0))));
      const leaves: Array<{ leaf: X509Certificate; issuer: X509Certificate; expires: number }> = [];
      for (let t = t0; t < t0 + 3 * policy.rootTtlMs; t += 10_000) {
        const now = new Date(t);
        for (let guard = 0; guard < 5; guard++) {
          const plan = planRotation(bundle, now, policy);
          if (!plan.step) break;
          steps.push({ at: t - t0, step: plan.step });
          bundle = verifyTrustBundle(await applyRotationStep(bundle, plan.step, ctxAt(now)));
        }
        const issuer = bundle.issuerChain[0] as X509Certificate;
        if (notAfter(issuer).getTime() <= t) violations.push(`${t - t0}: signing with an expired issuer`);
        if (notAfter(issuer).getTime() > notAfter(bundle.activeRoot).getTime()) violations.push(`${t - t0}: issuer outlives its root`);
        const signer = new LeafSigner(issuer.raw, bundle.issuerKey);
        leaves.push({
          leaf: new X509Certificate(signer.sign({ publicKeyInfo: workloadKey, uri: 'spiffe://public/ns/a/b', dnsNames: [], notBefore: now, notAfter: new Date(t + policy.workloadCertTtlMs) })),
          issuer,
          expires: t + policy.workloadCertTtlMs,
        });
        // Every leaf still valid must verify against the trust anchors published right now.
        for (const { leaf, issuer: leafIssuer, expires } of leaves) {
          if (expires <= t) continue;
          const root = bundle.anchors.find((anchor) => chainsTo(leafIssuer, anchor));
          if (!chainsTo(leaf, leafIssuer) || !root) violations.push(`${t - t0}: a valid leaf no longer verifies against the anchors`);
          else if (notAfter(root).getTime() <= t) violations.push(`${t - t0}: a valid leaf chains to an expired root`);
        }
      }
    }, 60_000);

    it('never signs with an expired issuer and never strands a valid certificate', () => {
      expect(violations).toEqual([]);
    });

    it('rotates the root in order: add, switch after an overlap of at least 1/6 of its life, retire', () => {
      const kinds = steps.map((s) => s.step.kind).filter((k) => k !== 'renew-issuer');
      expect(kinds.slice(0, 6)).toEqual(['add-next-root', 'switch-to-next-root', 'retire-previous-roots', 'add-next-root', 'switch-to-next-root', 'retire-previous-roots']);
      const adds = steps.filter((s) => s.step.kind === 'add-next-root');
      const switches = steps.filter((s) => s.step.kind === 'switch-to-next-root');
      // Lifetimes count from NotBefore, which is backdated by the clock skew; steps land on the next 10 s tick.
      const life = policy.rootTtlMs + policy.allowedClockSkewMs;
      expectTick(adds[0]?.at, -policy.allowedClockSkewMs + (life * 2) / 3);
      expectTick(switches[0]?.at, -policy.allowedClockSkewMs + (life * 5) / 6);
      for (let i = 0; i < switches.length; i++) expect((switches[i]?.at ?? 0) - (adds[i]?.at ?? 0)).toBeGreaterThanOrEqual(policy.rootTtlMs / 6);
    });

    it('renews the issuer under the same root at 2/3 of the issuer life', () => {
      const renewals = steps.filter((s) => s.step.kind === 'renew-issuer');
      expectTick(renewals[0]?.at, -policy.allowedClockSkewMs + ((policy.issuerTtlMs + policy.allowedClockSkewMs) * 2) / 3);
    });
  });

  describe('when the root is not managed by sentry', () => {
    it('plans nothing', async () => {
      const { rootKey: _unused, ...byo } = await generateBundle(ctxAt(new Date()));
      expect(planRotation(verifyTrustBundle(byo), new Date(Date.now() + 2 * policy.rootTtlMs), policy)).toEqual({});
    });
  });

  describe('when sentry was down past the whole root lifetime', () => {
    it('adds a new root and switches to it at once, since the old one can no longer be used', async () => {
      const t0 = Date.UTC(2030, 0, 1);
      let bundle = verifyTrustBundle(await generateBundle(ctxAt(new Date(t0))));
      const late = new Date(t0 + 2 * policy.rootTtlMs);
      const first = planRotation(bundle, late, policy).step;
      expect(first?.kind).toBe('add-next-root');
      bundle = verifyTrustBundle(await applyRotationStep(bundle, first as RotationStep, ctxAt(late)));
      expect(planRotation(bundle, late, policy).step).toMatchObject({ kind: 'switch-to-next-root', reason: 'the issuer has expired' });
    });
  });

  describe('when nothing is due', () => {
    it('says when to look again', async () => {
      const t0 = Date.UTC(2030, 0, 1);
      const bundle = verifyTrustBundle(await generateBundle(ctxAt(new Date(t0))));
      const plan = planRotation(bundle, new Date(t0 + minute), policy);
      expect(plan.step).toBeUndefined();
      // The issuer (30 min, backdated by the skew) reaches 2/3 of its life first.
      expect(plan.nextCheckAt?.getTime()).toBe(notBefore(bundle.issuerChain[0] as X509Certificate).getTime() + (30 * minute + 30_000) * (2 / 3));
    });
  });
});

describe('expiryWarnings', () => {
  let material: BundleMaterial;
  beforeAll(async () => {
    material = await generateBundle(ctxAt(new Date()));
  });

  it('warns about a user-supplied root and issuer within the last third of their life', () => {
    const { rootKey: _unused, ...byo } = material;
    const bundle = verifyTrustBundle(byo);
    expect(expiryWarnings(bundle, new Date())).toEqual([]);
    const late = new Date(Date.now() + 45 * minute);
    expect(expiryWarnings(bundle, late).map((w) => [w.certificate, w.expired])).toEqual([
      ['root', false],
      ['issuer', true],
    ]);
  });

  it('stays quiet about a managed bundle until rotation is overdue', () => {
    const bundle = verifyTrustBundle(material);
    expect(expiryWarnings(bundle, new Date(Date.now() + 10 * minute)).map((w) => w.certificate)).toEqual([]);
    expect(expiryWarnings(bundle, new Date(Date.now() + 27 * minute)).map((w) => w.certificate)).toEqual(['issuer']);
    expect(expiryWarnings(bundle, new Date(Date.now() + 55 * minute)).map((w) => w.certificate)).toEqual(['root', 'issuer']);
  });

  it('still builds a signer from the issuer key (sanity check of the fixture)', () => {
    const bundle = verifyTrustBundle(material);
    expect(() => new LeafSigner((bundle.issuerChain[0] as X509Certificate).raw, createPrivateKey(material.issuerKey))).not.toThrow();
  });
});
