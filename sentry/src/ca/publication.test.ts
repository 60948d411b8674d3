import { verifyTrustBundle } from './bundle.js';
import { generateBundle } from './rotationSteps.js';
import { publicationState, publishes } from './publication.js';
import type { StoredBundle } from './store.js';

const policy = { rootTtlMs: 3_600_000, issuerTtlMs: 3_600_000, allowedClockSkewMs: 0, workloadCertTtlMs: 60_000, pollIntervalMs: 1000 };
const ctx = { trustDomain: 'cluster.local', namespace: 'dapr-system', now: new Date(), policy };
const stored = (anchors: string | undefined, separate = true): StoredBundle => ({ entries: {}, published: separate ? { anchors } : undefined, token: 0 });

describe('publicationState', () => {
  it('tells same, missing, unreadable and differing publications apart', async () => {
    const [material, other] = await Promise.all([generateBundle(ctx), generateBundle(ctx)]);
    const bundle = verifyTrustBundle(material);
    expect(publicationState(bundle, stored(undefined, false))).toEqual({ kind: 'not-separate' });
    expect(publicationState(bundle, stored(`# comment\n${material.trustAnchors}`))).toEqual({ kind: 'same' });
    expect(publicationState(bundle, stored(undefined))).toEqual({ kind: 'missing' });
    expect(publicationState(bundle, stored('garbage'))).toMatchObject({ kind: 'missing', unreadable: expect.stringContaining('no PEM CERTIFICATE') });
    expect(publicationState(bundle, stored(other.trustAnchors))).toEqual({ kind: 'differs', includesActiveRoot: false });
    expect(publicationState(bundle, stored(material.trustAnchors + other.trustAnchors))).toEqual({ kind: 'differs', includesActiveRoot: true });
    expect(publishes(stored(other.trustAnchors), bundle.activeRoot)).toBe(false);
    expect(publishes(stored(material.trustAnchors), bundle.activeRoot)).toBe(true);
  });
});
