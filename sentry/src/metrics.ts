// Sentry's Prometheus metrics. Names follow Dapr's (spec §11.8, prefixed `dapr_`) so dashboards and alerts keep
// working; tapr adds the root's expiry, seconds-until-expiry gauges, an expiry warning flag and signing latency.
import { Counter, Gauge, Histogram, type Registry } from '@tapr/lib';

export type ExpiringCertificate = 'root' | 'issuer';

export class SentryMetrics {
  readonly #received: Counter;
  readonly #succeeded: Counter;
  readonly #failed: Counter<'reason'>;
  readonly #serverCertFailed: Counter<'reason'>;
  readonly #issuerChanged: Counter;
  readonly #issuerExpiry: Gauge;
  readonly #rootExpiry: Gauge;
  readonly #warning: Gauge<'certificate'>;
  readonly #ready: Gauge;
  readonly #duration: Histogram;
  #expiry: { issuer: Date; root: Date } | undefined;

  constructor(registry: Registry, now: () => Date = () => new Date()) {
    const registers = [registry];
    this.#received = new Counter({ name: 'dapr_sentry_cert_sign_request_received_total', help: 'The number of CSRs received.', registers });
    this.#succeeded = new Counter({ name: 'dapr_sentry_cert_sign_success_total', help: 'The number of certificates issuances that have succeeded.', registers });
    this.#failed = new Counter({
      name: 'dapr_sentry_cert_sign_failure_total',
      help: 'The number of errors occurred when signing the CSR, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.#serverCertFailed = new Counter({
      name: 'dapr_sentry_servercert_issue_failed_total',
      help: 'The number of server TLS certificate issuance failures.',
      labelNames: ['reason'],
      registers,
    });
    this.#issuerChanged = new Counter({
      name: 'dapr_sentry_issuercert_changed_total',
      help: 'The number of issuer cert updates, when issuer cert or key is changed',
      registers,
    });
    this.#issuerExpiry = new Gauge({ name: 'dapr_sentry_issuercert_expiry_timestamp', help: 'The unix timestamp, in seconds, when issuer cert will expire.', registers });
    this.#rootExpiry = new Gauge({ name: 'dapr_sentry_rootcert_expiry_timestamp', help: 'The unix timestamp, in seconds, when the root the issuer chains to will expire.', registers });
    const expiry = this;
    new Gauge({
      name: 'dapr_sentry_issuercert_seconds_until_expiry',
      help: 'Seconds until the issuer certificate expires (negative once expired).',
      registers,
      collect() {
        if (expiry.#expiry) this.set((expiry.#expiry.issuer.getTime() - now().getTime()) / 1000);
      },
    });
    new Gauge({
      name: 'dapr_sentry_rootcert_seconds_until_expiry',
      help: 'Seconds until the root the issuer chains to expires (negative once expired).',
      registers,
      collect() {
        if (expiry.#expiry) this.set((expiry.#expiry.root.getTime() - now().getTime()) / 1000);
      },
    });
    this.#warning = new Gauge({
      name: 'dapr_sentry_trust_bundle_expiry_warning',
      help: '1 while the root or issuer is close to expiry (or expired) and nothing will renew it in time.',
      labelNames: ['certificate'],
      registers,
    });
    this.#warning.set({ certificate: 'root' }, 0);
    this.#warning.set({ certificate: 'issuer' }, 0);
    this.#ready = new Gauge({ name: 'dapr_sentry_trust_bundle_ready', help: '1 while sentry has a valid trust bundle to sign with, 0 while it refuses to sign.', registers });
    this.#duration = new Histogram({
      name: 'dapr_sentry_cert_sign_duration_seconds',
      help: 'Time to answer a SignCertificate request, validation included.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
  }

  requestReceived(): void {
    this.#received.inc();
  }
  signSucceeded(seconds: number): void {
    this.#succeeded.inc();
    this.#duration.observe(seconds);
  }
  signFailed(reason: string, seconds: number): void {
    this.#failed.inc({ reason });
    this.#duration.observe(seconds);
  }
  serverCertIssueFailed(reason: string): void {
    this.#serverCertFailed.inc({ reason });
  }
  issuerChanged(): void {
    this.#issuerChanged.inc();
  }
  signingWith(expiry: { issuer: Date; root: Date }): void {
    this.#expiry = expiry;
    this.#issuerExpiry.set(Math.floor(expiry.issuer.getTime() / 1000));
    this.#rootExpiry.set(Math.floor(expiry.root.getTime() / 1000));
    this.#ready.set(1);
  }
  refusingToSign(): void {
    this.#ready.set(0);
  }
  expiryWarning(certificate: ExpiringCertificate, on: boolean): void {
    this.#warning.set({ certificate }, on ? 1 : 0);
  }
}
