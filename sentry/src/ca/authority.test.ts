import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { Readiness, Registry, silentLogger } from '@tapr/lib';
import { CertificateAuthority, type AuthorityOptions } from './authority.js';
import { FileTrustBundleStore } from './fileStore.js';
import { generateBundle } from './rotationSteps.js';
import { materialToEntries, type BundleMaterial } from './bundle.js';
import type { TrustBundleStore } from './store.js';
import { SentryMetrics } from '../metrics.js';
import { MemoryTrustBundleStore } from '../testing/memoryStore.js';
import type { EventRecorder, EventType } from '../events.js';
import { removeTempDirs, tempDir } from '../testing/tempDirs.js';

afterAll(removeTempDirs);

const names = { trustAnchors: 'ca.crt', issuerChain: 'issuer.crt', issuerKey: 'issuer.key' };
const minute = 60_000;
const policy = { rootTtlMs: 60 * minute, issuerTtlMs: 60 * minute, allowedClockSkewMs: 10_000, workloadCertTtlMs: 5 * minute, pollIntervalMs: 1000 };

class RecordedEvents implements EventRecorder {
  readonly events: Array<{ type: EventType; reason: string; message: string }> = [];
  record(type: EventType, reason: string, message: string): void {
    this.events.push({ type, reason, message });
  }
}

function authority(store: TrustBundleStore, extra: Partial<AuthorityOptions> = {}) {
  const readiness = new Readiness();
  const registry = new Registry();
  const events = new RecordedEvents();
  const ca = new CertificateAuthority({
    store,
    names,
    trustDomain: 'cluster.local',
    namespace: 'dapr-system',
    policy,
    metrics: new SentryMetrics(registry),
    events,
    readiness: readiness.target('ca'),
    logger: silentLogger(),
    settleMs: 5,
    ...extra,
  });
  return { ca, readiness, registry, events };
}

function fileStore(dir: string) {
  const files = Object.fromEntries(['ca.crt', 'issuer.crt', 'issuer.key', 'ca.key', 'next-ca.key', 'previous-ca.crt'].map((f) => [f, path.join(dir, f)]));
  return new FileTrustBundleStore({ files, claimEntry: 'issuer.key' });
}

const byo = (material: BundleMaterial): Record<string, string> => {
  const { rootKey: _unused, ...rest } = material;
  return materialToEntries(rest, names);
};

describe('CertificateAuthority', () => {
  describe('when the directory is empty (self-hosted first start)', () => {
    it('generates a managed bundle, writes it 0600 and signs with it', async () => {
      const dir = tempDir('ca-');
      const { ca, readiness, events } = authority(fileStore(dir));
      await ca.reconcile();
      for (const file of ['ca.crt', 'issuer.crt', 'issuer.key', 'ca.key']) {
        expect(statSync(path.join(dir, file)).mode & 0o777).toBe(0o600);
      }
      const current = ca.current();
      expect(current?.issuer.raw.equals(new X509Certificate(readFileSync(path.join(dir, 'issuer.crt'))).raw)).toBe(true);
      expect(current?.trustAnchorsPem).toBe(readFileSync(path.join(dir, 'ca.crt'), 'utf8'));
      expect(readiness.healthy).toBe(true);
      expect(events.events.map((e) => e.reason)).toEqual(['TrustBundleGenerated']);
    });

    it('ends with one bundle when two sentries start together', async () => {
      const dir = tempDir('ca-race-');
      const a = authority(fileStore(dir));
      const b = authority(fileStore(dir));
      await Promise.all([a.ca.reconcile(), b.ca.reconcile()]);
      expect(a.ca.current()?.issuer.raw.equals(b.ca.current()?.issuer.raw as Buffer)).toBe(true);
      expect(a.ca.current()?.trustAnchorsPem).toBe(readFileSync(path.join(dir, 'ca.crt'), 'utf8'));
    });
  });

  describe('when the stored bundle is incomplete or invalid', () => {
    it('refuses to sign and does not generate over an incomplete bundle', async () => {
      const dir = tempDir('ca-partial-');
      writeFileSync(path.join(dir, 'ca.crt'), (await generateBundle({ trustDomain: 'x', namespace: 'y', now: new Date(), policy })).trustAnchors);
      const { ca, readiness, events } = authority(fileStore(dir));
      await ca.reconcile();
      expect(ca.current()).toBeUndefined();
      expect(ca.problem()).toContain('is incomplete (missing issuer.crt, issuer.key); refusing to generate a new one');
      expect(existsSync(path.join(dir, 'issuer.key'))).toBe(false);
      expect(readiness.healthy).toBe(false);
      expect(events.events[0]).toMatchObject({ type: 'Warning', reason: 'TrustBundleUnusable' });
    });

    it('stops signing when the Secret is replaced by an invalid bundle, and resumes once it is fixed', async () => {
      const store = new MemoryTrustBundleStore();
      const { ca } = authority(store);
      await ca.reconcile();
      const good = { ...store.entries };
      store.replace({ ...good, 'issuer.key': (await generateBundle({ trustDomain: 'x', namespace: 'y', now: new Date(), policy })).issuerKey });
      await ca.reconcile();
      expect(ca.current()).toBeUndefined();
      expect(ca.problem()).toBe('the trust bundle in Secret test/dapr-trust-bundle is invalid: issuer key does not match issuer certificate');
      store.replace(good);
      await ca.reconcile();
      expect(ca.current()).toBeDefined();
    });
  });

  describe('when the trust bundle is in Kubernetes (Secret + published ConfigMap)', () => {
    it('publishes the roots when the ConfigMap is empty', async () => {
      const store = new MemoryTrustBundleStore();
      const { ca } = authority(store);
      await ca.reconcile();
      expect(store.published).toBe(store.entries['ca.crt']);
      expect(ca.current()?.trustAnchorsPem).toBe(store.published);
    });

    it('refuses to generate when the Secret is empty but the ConfigMap still publishes a root', async () => {
      const store = new MemoryTrustBundleStore();
      store.published = (await generateBundle({ trustDomain: 'x', namespace: 'y', now: new Date(), policy })).trustAnchors;
      const { ca } = authority(store);
      await ca.reconcile();
      expect(store.writes).toBe(0);
      expect(ca.problem()).toContain('holds no trust bundle, but ConfigMap test/dapr-trust-bundle still publishes trust anchors');
    });

    it('refuses a user bundle whose root the ConfigMap does not publish, and never overwrites the ConfigMap', async () => {
      const store = new MemoryTrustBundleStore();
      store.replace(byo(await generateBundle({ trustDomain: 'x', namespace: 'y', now: new Date(), policy })));
      const otherRoot = (await generateBundle({ trustDomain: 'x', namespace: 'y', now: new Date(), policy })).trustAnchors;
      store.published = otherRoot;
      const { ca } = authority(store);
      await ca.reconcile();
      expect(ca.current()).toBeUndefined();
      expect(ca.problem()).toContain('the issuer chain does not verify to a root published in ConfigMap');
      expect(store.published).toBe(otherRoot);
    });

    it('uses the other sentry\'s bundle when it loses the race to store one', async () => {
      const store = new MemoryTrustBundleStore();
      const winner = await generateBundle({ trustDomain: 'cluster.local', namespace: 'dapr-system', now: new Date(), policy });
      // Between this sentry's read (empty) and its write, another sentry stores its bundle.
      store.beforeWrite = () => {
        store.beforeWrite = undefined;
        store.replace(materialToEntries(winner, names));
      };
      const { ca } = authority(store);
      await ca.reconcile();
      expect(ca.current()?.issuerKeyPem).toBe(winner.issuerKey);
      expect(store.published).toBe(winner.trustAnchors);
    });
  });

  describe('when the bundle is user-supplied', () => {
    it('refuses an expired issuer, loudly', async () => {
      const store = new MemoryTrustBundleStore();
      const past = new Date(Date.now() - 2 * 60 * minute);
      store.replace(byo(await generateBundle({ trustDomain: 'x', namespace: 'y', now: past, policy })));
      const { ca, events, registry } = authority(store);
      await ca.reconcile();
      expect(ca.problem()).toMatch(/^the issuer certificate expired at .*; sentry does not manage this root/);
      expect(events.events.some((e) => e.reason === 'TrustBundleUnusable')).toBe(true);
      expect(await registry.getSingleMetricAsString('dapr_sentry_trust_bundle_ready')).toContain('dapr_sentry_trust_bundle_ready 0');
    });

    it('keeps signing but raises a warning metric and Events as expiry nears', async () => {
      const store = new MemoryTrustBundleStore();
      const t0 = new Date();
      store.replace(byo(await generateBundle({ trustDomain: 'x', namespace: 'y', now: t0, policy })));
      const { ca, events, registry } = authority(store, { now: () => new Date(t0.getTime() + 45 * minute) });
      await ca.reconcile();
      expect(ca.current()).toBeDefined();
      expect(events.events.map((e) => e.reason).sort()).toEqual(['IssuerCertificateExpiring', 'TrustAnchorExpiring']);
      expect(events.events[0]?.message).toContain('sentry does not manage this root and will not replace it');
      expect(await registry.getSingleMetricAsString('dapr_sentry_trust_bundle_expiry_warning')).toContain('dapr_sentry_trust_bundle_expiry_warning{certificate="root"} 1');
      expect(store.writes).toBe(0);
    });
  });

  describe('when a managed bundle reaches its rotation steps', () => {
    it('writes each step and publishes the new roots before signing under them', async () => {
      const store = new MemoryTrustBundleStore();
      let now = new Date();
      const { ca, events } = authority(store, { now: () => now });
      await ca.reconcile();
      const firstIssuer = ca.current()?.issuer;
      now = new Date(now.getTime() + 41 * minute);
      await ca.reconcile();
      // 2/3 of the root's life: the new root is stored, published next to the old one; the issuer is unchanged.
      expect(store.entries['next-ca.key']).toBeDefined();
      expect(store.published).toBe(store.entries['ca.crt']);
      expect(ca.current()?.bundle.anchors).toHaveLength(2);
      expect(ca.current()?.issuer.raw.equals(firstIssuer?.raw as Buffer)).toBe(true);
      now = new Date(now.getTime() + 11 * minute);
      await ca.reconcile();
      // 5/6 of the old root's life and 1/6 after the new root appeared: a new issuer under the new root signs; both roots stay published.
      expect(ca.current()?.issuer.raw.equals(firstIssuer?.raw as Buffer)).toBe(false);
      expect(ca.current()?.bundle.activeRoot.raw.equals(ca.current()?.bundle.nextRoot?.cert.raw ?? Buffer.alloc(0))).toBe(false);
      expect(store.entries['previous-ca.crt']).toBeDefined();
      now = new Date(now.getTime() + 6 * minute);
      await ca.reconcile();
      expect(ca.current()?.bundle.anchors).toHaveLength(1);
      expect(store.published).toBe(store.entries['ca.crt']);
      expect(events.events.filter((e) => e.reason === 'TrustBundleRotated').map((e) => e.message.split(' ')[3])).toEqual([
        'add-next-root',
        'switch-to-next-root',
        'retire-previous-roots',
      ]);
    });
  });
});
