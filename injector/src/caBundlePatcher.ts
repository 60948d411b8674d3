// Keeps the MutatingWebhookConfiguration's caBundle equal to the CA that verifies the serving certificate (spec
// §2.6): patched once the first certificate exists, again whenever the bundle changes, and re-applied every
// `resyncMs` — a `helm upgrade` that resets caBundle would otherwise break admission until the next restart. The
// re-apply is a no-op patch when nothing drifted. Until the first patch succeeds the injector is not ready.
import type { Logger, ReadinessTarget } from '@tapr/lib';
import type { KubeAccess } from './kubeAccess.js';
import type { ServingCertificateSource } from './servingCertificate.js';
import { Backoff, sleep } from './sleep.js';

export interface CaBundlePatcherOptions {
  kube: KubeAccess;
  configurationName: string;
  certificates: ServingCertificateSource;
  readiness: ReadinessTarget;
  logger: Logger;
  resyncMs?: number;
}

export class CaBundlePatcher {
  constructor(private readonly options: CaBundlePatcherOptions) {}

  async run(signal: AbortSignal): Promise<void> {
    const { certificates, kube, configurationName, readiness, logger, resyncMs = 60_000 } = this.options;
    let first: Awaited<ReturnType<ServingCertificateSource['ready']>>;
    try {
      first = await certificates.ready(signal);
    } catch {
      return; // stopped before there was a certificate
    }
    let bundle = first.caBundlePem;
    let wake: (() => void) | undefined;
    const unsubscribe = certificates.subscribe((certificate) => {
      if (certificate.caBundlePem === bundle) return;
      bundle = certificate.caBundlePem;
      wake?.();
    });
    const backoff = new Backoff(500, 30_000);
    let patched: string | undefined;
    let version: string | undefined;
    try {
      while (!signal.aborted) {
        const target = bundle;
        let delay = resyncMs;
        try {
          const resourceVersion = await kube.patchWebhookCaBundle(configurationName, Buffer.from(target).toString('base64'));
          if (patched !== target || resourceVersion !== version) {
            logger.info('webhook caBundle is up to date', { configuration: configurationName, resourceVersion });
          }
          patched = target;
          version = resourceVersion;
          readiness.ready();
          backoff.reset();
        } catch (error) {
          logger.warn('cannot patch the webhook caBundle; retrying', { configuration: configurationName, error });
          readiness.notReady('webhook caBundle not patched');
          delay = backoff.take();
        }
        if (bundle !== target) continue;
        const controller = new AbortController();
        const onAbort = () => controller.abort();
        signal.addEventListener('abort', onAbort, { once: true });
        wake = () => controller.abort();
        await sleep(delay, controller.signal);
        signal.removeEventListener('abort', onAbort);
        wake = undefined;
      }
    } finally {
      unsubscribe();
    }
  }
}
