import { X509Certificate, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { LeafSigner } from '../x509/leafSigner.js';
import { encodePem } from '@tapr/lib/security/pem';
import { BundleError, entriesToMaterial, materialToEntries, verifyTrustBundle, type BundleMaterial } from './bundle.js';
import { generateRoot } from './generate.js';
import { generateBundle } from './rotationSteps.js';

const policy = { rootTtlMs: 3_600_000, issuerTtlMs: 3_600_000, allowedClockSkewMs: 60_000, workloadCertTtlMs: 600_000, pollIntervalMs: 1000 };
const ctx = { trustDomain: 'cluster.local', namespace: 'dapr-system', now: new Date(), policy };
const names = { trustAnchors: 'ca.crt', issuerChain: 'issuer.crt', issuerKey: 'issuer.key' };

function refusal(material: BundleMaterial): string {
  try {
    verifyTrustBundle(material);
  } catch (error) {
    if (error instanceof BundleError) return error.message;
    throw error;
  }
  throw new Error('expected the bundle to be refused');
}

describe('verifyTrustBundle', () => {
  let generated: BundleMaterial;
  beforeAll(async () => {
    generated = await generateBundle(ctx);
  });

  describe('when sentry generated the bundle', () => {
    it('accepts it as managed, with the root as active root and Dapr-shaped subjects', () => {
      const bundle = verifyTrustBundle(generated);
      expect(bundle.rootKey).toBeDefined();
      expect(bundle.anchors).toHaveLength(1);
      expect(bundle.activeRoot.subject).toBe('O=cluster.local');
      expect(bundle.issuerChain[0]?.subject).toBe('O=spiffe://cluster.local/ns/dapr-system/dapr-sentry');
      expect(bundle.issuerChain[0]?.ca).toBe(true);
    });
  });

  describe('when the bundle is brought by the user', () => {
    it('accepts a valid root + issuer without a root key as unmanaged', () => {
      const { rootKey: _dropped, ...byo } = generated;
      expect(verifyTrustBundle(byo).rootKey).toBeUndefined();
    });

    it('drops a root appended to the issuer chain and strips text around the PEM', () => {
      const withRoot = { ...generated, issuerChain: `# my issuer\n${generated.issuerChain}${generated.trustAnchors}`, trustAnchors: `comment\n${generated.trustAnchors}` };
      const bundle = verifyTrustBundle(withRoot);
      expect(bundle.issuerChain).toHaveLength(1);
      expect(bundle.material.issuerChain).toBe(generated.issuerChain);
      expect(bundle.material.trustAnchors).toBe(generated.trustAnchors);
    });

    it('refuses an issuer key that does not match the issuer certificate', async () => {
      const other = await generateBundle(ctx);
      expect(refusal({ ...generated, issuerKey: other.issuerKey })).toBe('issuer key does not match issuer certificate');
    });

    it('refuses an issuer chain that no trust anchor signed', async () => {
      const other = await generateBundle(ctx);
      expect(refusal({ ...generated, rootKey: undefined, trustAnchors: other.trustAnchors })).toContain('issuer chain does not belong to the trust anchors');
    });

    it('refuses a trust anchor that is not self-signed', () => {
      expect(refusal({ ...generated, trustAnchors: generated.issuerChain })).toContain('is not self-signed');
    });

    it('refuses an issuer that is not a CA', async () => {
      const root = await generateRoot({ trustDomain: 'td', now: new Date(), ttlMs: 3_600_000, skewMs: 0 });
      const leafKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const leaf = new LeafSigner(new X509Certificate(root.certPem).raw, createPrivateKey(root.keyPem)).sign({
        publicKeyInfo: leafKeys.publicKey.export({ format: 'der', type: 'spki' }),
        uri: 'spiffe://td/ns/ns/app',
        dnsNames: [],
        notBefore: new Date(),
        notAfter: new Date(Date.now() + 60_000),
      });
      const material = {
        trustAnchors: root.certPem,
        issuerChain: encodePem('CERTIFICATE', leaf),
        issuerKey: leafKeys.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      };
      expect(refusal(material)).toContain('is not valid for signing: it must be a CA');
    });

    it('refuses garbage with a message naming the entry', () => {
      expect(refusal({ ...generated, trustAnchors: 'not pem' })).toContain('trust anchors (ca.crt)');
      expect(refusal({ ...generated, issuerKey: 'not pem' })).toContain('issuer key (issuer.key) holds no PEM private key');
    });
  });

  describe('when tapr rotation keys are present', () => {
    it('refuses a ca.key that is not the active root key', async () => {
      const other = await generateBundle(ctx);
      expect(refusal({ ...generated, rootKey: other.rootKey })).toBe('root key (ca.key) does not belong to the root that signed the issuer');
    });

    it('refuses a next-ca.key that matches no other anchor', async () => {
      const other = await generateBundle(ctx);
      expect(refusal({ ...generated, nextRootKey: other.rootKey })).toContain('next root key (next-ca.key) belongs to none');
    });

    it('finds the next root among the anchors by its key', async () => {
      const other = await generateBundle(ctx);
      const bundle = verifyTrustBundle({ ...generated, trustAnchors: generated.trustAnchors + other.trustAnchors, nextRootKey: other.rootKey });
      expect(bundle.nextRoot?.cert.raw.equals(new X509Certificate(other.trustAnchors).raw)).toBe(true);
    });
  });
});

describe('bundle entries', () => {
  it('round-trips material through Secret-style entries with configured names', async () => {
    const material = await generateBundle(ctx);
    const custom = { trustAnchors: 'root.pem', issuerChain: 'issuer.pem', issuerKey: 'issuer-key.pem' };
    const entries = materialToEntries(material, custom);
    expect(Object.keys(entries).sort()).toEqual(['ca.key', 'issuer-key.pem', 'issuer.pem', 'root.pem']);
    expect(entriesToMaterial(entries, custom).material).toEqual(material);
  });

  it('reports which of the three Dapr entries are missing', () => {
    expect(entriesToMaterial({ 'ca.crt': 'x', 'issuer.crt': ' ' }, names)).toEqual({ missing: ['issuer.crt', 'issuer.key'], present: ['ca.crt'] });
  });
});

