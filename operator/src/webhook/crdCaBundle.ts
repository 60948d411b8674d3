// Points the Subscription CRD's conversion webhook at this operator (spec §2.6, §4.4): the Service namespace and
// the CA bundle (the control plane's trust anchors), patched at start-up and again whenever the anchors change.
// A clientConfig with a `url` instead of a Service (clusters where the webhook runs outside) gets the CA bundle only.
import type { Logger } from '@tapr/lib/logger';
import { abortableDelay } from '@tapr/lib/delay';
import type { KubeHttp } from '@tapr/lib/kube';

export const subscriptionCrdName = 'subscriptions.dapr.io';

interface Crd {
  spec?: {
    conversion?: {
      strategy?: string;
      webhook?: { clientConfig?: { service?: { namespace?: string; name?: string }; url?: string; caBundle?: string } };
    };
  };
}

export interface CrdCaBundlePatcherOptions {
  http: KubeHttp;
  namespace: string;
  trustAnchors: () => string;
  /** Called with a listener to run whenever the trust anchors change; returns an unsubscribe function. */
  trustAnchorsChanged: (listener: () => void) => () => void;
  logger: Logger;
  onPatched?: () => void;
  crdNames?: string[];
  retryMs?: number;
}

export class CrdCaBundlePatcher {
  constructor(private readonly options: CrdCaBundlePatcherOptions) {}

  async run(signal: AbortSignal): Promise<void> {
    let changed = true;
    let wake: (() => void) | undefined;
    const unsubscribe = this.options.trustAnchorsChanged(() => {
      changed = true;
      wake?.();
    });
    try {
      while (!signal.aborted) {
        if (changed) {
          changed = false;
          try {
            for (const name of this.options.crdNames ?? [subscriptionCrdName]) await this.patch(name);
            this.options.onPatched?.();
          } catch (error) {
            changed = true;
            this.options.logger.error('cannot patch the conversion webhook of the CRD; retrying', { error });
            await abortableDelay(this.options.retryMs ?? 5000, signal);
            continue;
          }
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          signal.addEventListener('abort', () => resolve(), { once: true });
        });
        wake = undefined;
      }
    } finally {
      unsubscribe();
    }
  }

  /** Patches one CRD if it is not up to date; throws when it has no webhook clientConfig to patch. */
  async patch(name: string): Promise<void> {
    const { http, namespace, logger } = this.options;
    const path = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${encodeURIComponent(name)}`;
    const crd = await http.request<Crd>('GET', path);
    const clientConfig = crd.spec?.conversion?.webhook?.clientConfig;
    if (!clientConfig) {
      throw new Error(`crd "${name}" does not have an existing webhook client config. Applying resources of this type will fail`);
    }
    const caBundle = Buffer.from(this.options.trustAnchors()).toString('base64');
    const serviceUpToDate = !clientConfig.service || clientConfig.service.namespace === namespace;
    if (serviceUpToDate && clientConfig.caBundle === caBundle) {
      logger.info('conversion webhook is up to date', { crd: name });
      return;
    }
    const patch: Array<{ op: string; path: string; value: string }> = [];
    if (clientConfig.service) patch.push({ op: 'replace', path: '/spec/conversion/webhook/clientConfig/service/namespace', value: namespace });
    // `add` sets the field whether or not it exists yet (`replace` would fail on a CRD without a caBundle).
    patch.push({ op: 'add', path: '/spec/conversion/webhook/clientConfig/caBundle', value: caBundle });
    await http.request('PATCH', path, { body: patch, contentType: 'application/json-patch+json' });
    logger.info('patched the conversion webhook of the CRD', { crd: name, namespace });
  }
}
