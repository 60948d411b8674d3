// Carries out what rotationPlan decided: each step turns the current material into the next one. Writing it back
// (and publishing the anchors) is the authority's job.
import { encodeCertificates } from '@tapr/lib/security/pem';
import { generateIssuer, generateRoot } from './generate.js';
import type { BundleMaterial, TrustBundle } from './bundle.js';
import type { RotationPolicy, RotationStep } from './rotationPlan.js';

export interface GenerationContext {
  trustDomain: string;
  namespace: string;
  now: Date;
  policy: RotationPolicy;
}

/** A brand-new managed bundle: root (key kept in `ca.key`) and issuer. */
export async function generateBundle(ctx: GenerationContext): Promise<BundleMaterial> {
  const root = await generateRoot({ trustDomain: ctx.trustDomain, now: ctx.now, ttlMs: ctx.policy.rootTtlMs, skewMs: ctx.policy.allowedClockSkewMs });
  const issuer = await newIssuer(root, ctx);
  return { trustAnchors: root.certPem, issuerChain: issuer.certPem, issuerKey: issuer.keyPem, rootKey: root.keyPem };
}

export async function applyRotationStep(bundle: TrustBundle, step: RotationStep, ctx: GenerationContext): Promise<BundleMaterial> {
  const material = bundle.material;
  switch (step.kind) {
    case 'renew-issuer': {
      const issuer = await newIssuer({ certPem: pemOf(bundle.activeRoot.raw), keyPem: material.rootKey as string }, ctx);
      return { ...material, issuerChain: issuer.certPem, issuerKey: issuer.keyPem };
    }
    case 'add-next-root': {
      const next = await generateRoot({ trustDomain: ctx.trustDomain, now: ctx.now, ttlMs: ctx.policy.rootTtlMs, skewMs: ctx.policy.allowedClockSkewMs });
      return { ...material, trustAnchors: material.trustAnchors + next.certPem, nextRootKey: next.keyPem };
    }
    case 'switch-to-next-root': {
      const next = bundle.nextRoot;
      if (!next) throw new Error('cannot switch roots: no next root');
      const issuer = await newIssuer({ certPem: pemOf(next.cert.raw), keyPem: material.nextRootKey as string }, ctx);
      const previous = [...bundle.previousRoots.map((c) => c.raw), bundle.activeRoot.raw];
      return {
        trustAnchors: material.trustAnchors,
        issuerChain: issuer.certPem,
        issuerKey: issuer.keyPem,
        rootKey: material.nextRootKey,
        previousRoots: encodeCertificates(previous),
      };
    }
    case 'retire-previous-roots': {
      const retired = (raw: Buffer) => step.roots.some((root) => root.raw.equals(raw));
      const anchors = bundle.anchors.filter((c) => !retired(c.raw)).map((c) => c.raw);
      const previous = bundle.previousRoots.filter((c) => !retired(c.raw)).map((c) => c.raw);
      return { ...material, trustAnchors: encodeCertificates(anchors), previousRoots: previous.length ? encodeCertificates(previous) : undefined };
    }
  }
}

function newIssuer(root: { certPem: string; keyPem: string }, ctx: GenerationContext) {
  return generateIssuer({
    trustDomain: ctx.trustDomain,
    namespace: ctx.namespace,
    now: ctx.now,
    ttlMs: ctx.policy.issuerTtlMs,
    skewMs: ctx.policy.allowedClockSkewMs,
    root,
  });
}

function pemOf(der: Buffer): string {
  return encodeCertificates([der]);
}
