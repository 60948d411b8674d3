// The certificate authority's lifecycle: load the trust bundle from its store (generating it once when the store
// is empty), publish the roots, verify everything, rotate a managed bundle when its steps fall due, and hand the
// verified issuer to the signer. It re-reads the store every poll interval (sooner on file events), so an
// updated Secret takes effect without a restart.
//
// It fails closed: on an incomplete or invalid bundle, an expired issuer it cannot renew, or an issuer that does
// not chain to a published root, it withdraws the issuer (sentry answers Unavailable and turns unready) and says
// why — it never replaces a bundle it did not create from scratch.
import { X509Certificate } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { describeError, type Logger, type ReadinessTarget } from '@tapr/lib';
import { publicationState, publishes } from './publication.js';
import {
  BundleError,
  entriesToMaterial,
  isManaged,
  materialToEntries,
  notAfter,
  taprFileNames,
  verifyTrustBundle,
  type BundleFileNames,
  type BundleMaterial,
  type TrustBundle,
} from './bundle.js';
import { expiryWarnings, planRotation, type RotationPolicy } from './rotationPlan.js';
import { applyRotationStep, generateBundle } from './rotationSteps.js';
import type { StoredBundle, TrustBundleStore } from './store.js';
import type { EventRecorder } from '../events.js';
import type { SentryMetrics } from '../metrics.js';

export interface SigningIssuer {
  /** Increases with every change of issuer or trust anchors. */
  generation: number;
  bundle: TrustBundle;
  issuer: X509Certificate;
  /** PEM: the issuer chain sent after each leaf. */
  issuerChainPem: string;
  /** PEM: the trust anchors sent to clients. */
  trustAnchorsPem: string;
  issuerKeyPem: string;
  notAfter: Date;
}

export interface AuthorityOptions {
  store: TrustBundleStore;
  names: BundleFileNames;
  /** Sentry's (control-plane) trust domain and namespace: they name the roots and issuers it generates. */
  trustDomain: string;
  namespace: string;
  policy: RotationPolicy;
  metrics: SentryMetrics;
  events: EventRecorder;
  readiness: ReadinessTarget;
  logger: Logger;
  now?: () => Date;
  /** Pause between re-reads of an incomplete bundle that another sentry may be writing. */
  settleMs?: number;
}

const bundleKeys = (names: BundleFileNames) => [names.trustAnchors, names.issuerChain, names.issuerKey, ...Object.values(taprFileNames)];

export class CertificateAuthority {
  #current: SigningIssuer | undefined;
  #problem: string | undefined = 'the trust bundle has not been loaded yet';
  #generation = 0;
  #publicationWarning: string | undefined;
  /** The last verified bundle and the material it came from: unchanged material is not verified again. */
  #verified: { material: BundleMaterial; bundle: TrustBundle } | undefined;
  #nextCheckAt: Date | undefined;
  #wake: (() => void) | undefined;
  #pendingWake = false;
  readonly #listeners = new Set<(issuer: SigningIssuer | undefined) => void>();
  readonly #now: () => Date;

  constructor(private readonly options: AuthorityOptions) {
    this.#now = options.now ?? (() => new Date());
  }

  /** The issuer to sign with, or undefined while sentry refuses to sign (see `problem()`). */
  current(): SigningIssuer | undefined {
    return this.#current;
  }

  /** Why sentry is not signing right now. */
  problem(): string | undefined {
    return this.#problem;
  }

  /** Called with every new issuer (and with undefined when signing stops). */
  subscribe(listener: (issuer: SigningIssuer | undefined) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Asks for a re-read now (a file changed, or the signer found the issuer expired). */
  refresh(): void {
    if (this.#wake) this.#wake();
    else this.#pendingWake = true;
  }

  async run(signal: AbortSignal): Promise<void> {
    this.options.store.watch?.(() => this.refresh(), signal);
    while (!signal.aborted) {
      try {
        await this.reconcile();
      } catch (error) {
        // The store could not be read or written (API server down, RBAC): keep the current issuer if it is still
        // valid — nothing about the bundle is known to be wrong — and try again.
        this.options.logger.error('cannot reconcile the trust bundle; will retry', { store: this.options.store.description, error: describeError(error) });
        if (!this.#current) this.#refuse(`cannot load the trust bundle from ${this.options.store.description}: ${describeError(error)}`);
      }
      await this.#sleep(signal);
    }
  }

  /** One pass: read, generate or publish or rotate as needed, install. Exposed for tests. */
  async reconcile(): Promise<void> {
    const { store, names, logger } = this.options;
    for (let attempt = 0; attempt < 10; attempt++) {
      const stored = await store.read();
      const decoded = entriesToMaterial(stored.entries, names);
      if (!decoded.material) {
        if (decoded.present.length > 0) {
          // Another sentry may be half-way through writing a new bundle into a directory: look again shortly.
          if (attempt < 3) {
            await delay(this.options.settleMs ?? 200);
            continue;
          }
          return this.#refuse(
            `the trust bundle in ${store.description} is incomplete (missing ${decoded.missing.join(', ')}); refusing to generate a new one over it — complete it or remove all of its entries`,
          );
        }
        if (stored.published?.anchors) {
          return this.#refuse(
            `${store.description} holds no trust bundle, but ${store.publishedDescription} still publishes trust anchors; refusing to generate a new root that workloads would not trust — restore the Secret, or remove ca.crt from the ConfigMap to start a new trust bundle`,
          );
        }
        if (await this.#generate(stored)) this.options.metrics.issuerChanged();
        continue;
      }

      let bundle: TrustBundle;
      try {
        bundle = this.#verify(decoded.material);
      } catch (error) {
        if (!(error instanceof BundleError)) throw error;
        return this.#refuse(`the trust bundle in ${store.description} is invalid: ${error.message}`);
      }

      const publishing = await this.#checkPublished(bundle, stored);
      if (publishing === 'written') continue;
      if (publishing === 'refused') return;

      const now = this.#now();
      const plan = planRotation(bundle, now, this.options.policy);
      this.#nextCheckAt = plan.nextCheckAt;
      if (plan.step) {
        // Never sign under a root before it is published (for a managed bundle the publish step above ran first).
        if (plan.step.kind === 'switch-to-next-root' && !publishes(stored, bundle.nextRoot?.cert)) {
          logger.warn('a root switch is due but the new root is not published yet; waiting', { published: store.publishedDescription });
        } else {
          const next = await applyRotationStep(bundle, plan.step, this.#context(now));
          if (!(await store.write(materialToEntries(next, names), bundleKeys(names), stored))) continue;
          const message = `trust bundle rotation: ${plan.step.kind} (${plan.step.reason})`;
          logger.info(message, { store: store.description });
          this.options.events.record('Normal', 'TrustBundleRotated', message);
          continue;
        }
      }

      const issuer = bundle.issuerChain[0] as X509Certificate;
      if (!isManaged(bundle) && now.getTime() >= notAfter(issuer).getTime()) {
        return this.#refuse(`the issuer certificate expired at ${notAfter(issuer).toISOString()}; sentry does not manage this root, so it cannot renew it — install a new issuer in ${store.description}`);
      }
      if (now.getTime() >= notAfter(bundle.activeRoot).getTime() && !isManaged(bundle)) {
        return this.#refuse(`the root certificate expired at ${notAfter(bundle.activeRoot).toISOString()}; replace the trust bundle in ${store.description}`);
      }
      this.#install(bundle);
      this.#warnAboutExpiry(bundle, now);
      return;
    }
    throw new Error(`the trust bundle in ${store.description} kept changing under this sentry (10 attempts)`);
  }

  #verify(material: BundleMaterial): TrustBundle {
    const previous = this.#verified;
    const same = (a: BundleMaterial, b: BundleMaterial) =>
      a.trustAnchors === b.trustAnchors && a.issuerChain === b.issuerChain && a.issuerKey === b.issuerKey && a.rootKey === b.rootKey && a.nextRootKey === b.nextRootKey && a.previousRoots === b.previousRoots;
    if (previous && same(previous.material, material)) return previous.bundle;
    const bundle = verifyTrustBundle(material);
    this.#verified = { material, bundle };
    return bundle;
  }

  #context(now: Date) {
    return { trustDomain: this.options.trustDomain, namespace: this.options.namespace, now, policy: this.options.policy };
  }

  async #generate(stored: StoredBundle): Promise<boolean> {
    const { store, names, logger } = this.options;
    logger.info('no trust bundle found: generating a root and issuer', { store: store.description, trustDomain: this.options.trustDomain });
    const material = await generateBundle(this.#context(this.#now()));
    if (!(await store.write(materialToEntries(material, names), bundleKeys(names), stored))) {
      logger.info('another sentry stored a trust bundle first; using that one', { store: store.description });
      return false;
    }
    this.options.events.record('Normal', 'TrustBundleGenerated', `generated a new root and issuer for trust domain ${this.options.trustDomain}`);
    return true;
  }

  /**
   * Makes sure the roots are published (ConfigMap). Returns 'ok' when signing may go on, 'written' after
   * publishing (re-read), 'refused' when sentry must not sign.
   */
  async #checkPublished(bundle: TrustBundle, stored: StoredBundle): Promise<'ok' | 'written' | 'refused'> {
    const { store, logger } = this.options;
    const state = publicationState(bundle, stored);
    if (state.kind === 'not-separate' || state.kind === 'same') {
      this.#publicationWarning = undefined;
      return 'ok';
    }
    if (state.kind === 'missing' || isManaged(bundle)) {
      // Missing (first start, Helm's empty ConfigMap) or lagging behind a rotation step of ours: publish.
      if (state.kind === 'missing' && state.unreadable) logger.warn('the published trust anchors cannot be read; publishing the bundle\'s roots', { published: store.publishedDescription, error: state.unreadable });
      if (state.kind === 'differs') logger.warn('published trust anchors differ from the trust bundle; publishing the bundle\'s roots', { published: store.publishedDescription });
      await store.publish(bundle.material.trustAnchors, stored);
      logger.info('published the trust anchors', { published: store.publishedDescription, roots: bundle.anchors.length });
      return 'written';
    }
    if (!state.includesActiveRoot) {
      this.#refuse(
        `the issuer chain does not verify to a root published in ${store.publishedDescription}; refusing to sign certificates workloads could not verify — make ca.crt in the Secret and the ConfigMap agree`,
      );
      return 'refused';
    }
    const warning = `published trust anchors in ${store.publishedDescription} differ from the Secret's, but include the issuing root; signing continues`;
    if (this.#publicationWarning !== warning) logger.warn(warning);
    this.#publicationWarning = warning;
    return 'ok';
  }

  #install(bundle: TrustBundle): void {
    const issuer = bundle.issuerChain[0] as X509Certificate;
    const previous = this.#current;
    const unchanged =
      previous &&
      previous.issuer.raw.equals(issuer.raw) &&
      previous.trustAnchorsPem === bundle.material.trustAnchors &&
      previous.issuerChainPem === bundle.material.issuerChain;
    if (unchanged) return;
    this.#current = {
      generation: ++this.#generation,
      bundle,
      issuer,
      issuerChainPem: bundle.material.issuerChain,
      trustAnchorsPem: bundle.material.trustAnchors,
      issuerKeyPem: bundle.material.issuerKey,
      notAfter: notAfter(issuer),
    };
    if (previous && !previous.issuer.raw.equals(issuer.raw)) this.options.metrics.issuerChanged();
    this.#problem = undefined;
    this.options.metrics.signingWith({ issuer: notAfter(issuer), root: notAfter(bundle.activeRoot) });
    this.options.readiness.ready();
    this.options.logger.info(previous ? 'signing with a new issuer or trust anchors' : 'signing with the trust bundle', {
      store: this.options.store.description,
      managed: isManaged(bundle),
      issuerExpires: notAfter(issuer).toISOString(),
      rootExpires: notAfter(bundle.activeRoot).toISOString(),
      roots: bundle.anchors.length,
    });
    for (const listener of [...this.#listeners]) listener(this.#current);
  }

  #refuse(problem: string): void {
    const changed = this.#problem !== problem || this.#current !== undefined;
    this.#problem = problem;
    const had = this.#current !== undefined;
    this.#current = undefined;
    this.options.metrics.refusingToSign();
    this.options.readiness.notReady(problem);
    if (changed) {
      this.options.logger.error(`refusing to sign: ${problem}`);
      this.options.events.record('Warning', 'TrustBundleUnusable', problem);
    }
    if (had) for (const listener of [...this.#listeners]) listener(undefined);
  }

  #warnAboutExpiry(bundle: TrustBundle, now: Date): void {
    const warnings = expiryWarnings(bundle, now);
    for (const certificate of ['root', 'issuer'] as const) {
      const warning = warnings.find((w) => w.certificate === certificate);
      this.options.metrics.expiryWarning(certificate, warning !== undefined);
      if (!warning) continue;
      const action = isManaged(bundle)
        ? 'automatic rotation has not happened in time; check that sentry can update the trust bundle Secret'
        : 'sentry does not manage this root and will not replace it: install a new trust bundle before then';
      const message = `the ${certificate} certificate (${warning.subject}) ${warning.expired ? 'expired' : 'expires'} at ${warning.notAfter.toISOString()}; ${action}`;
      this.options.logger.warn(message, { certificate });
      this.options.events.record('Warning', certificate === 'root' ? 'TrustAnchorExpiring' : 'IssuerCertificateExpiring', message);
    }
  }

  /** Waits for the poll interval, the next rotation step, or a refresh — whichever comes first. */
  async #sleep(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    if (this.#pendingWake) {
      this.#pendingWake = false;
      return;
    }
    let waitMs = this.options.policy.pollIntervalMs;
    if (this.#nextCheckAt) waitMs = Math.max(10, Math.min(waitMs, this.#nextCheckAt.getTime() - this.#now().getTime()));
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, waitMs);
      this.#wake = done;
      signal.addEventListener('abort', done, { once: true });
    });
  }
}


export type { BundleMaterial };
