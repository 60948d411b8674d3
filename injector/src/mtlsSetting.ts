// Whether sidecars get `--enable-mtls`: `spec.mtls.enabled` of the `daprsystem` Configuration in the control-plane
// namespace, default true (spec §5.2). Dapr reads it on every admission request; tapr polls it, so admission never
// waits on the API server — a change reaches new pods within one poll interval.
import type { Logger } from '@tapr/lib';
import type { KubeAccess } from './kubeAccess.js';
import { sleep } from './sleep.js';

export interface MtlsSettingOptions {
  kube: KubeAccess;
  namespace: string;
  logger: Logger;
  configurationName?: string;
  pollMs?: number;
}

export class MtlsSetting {
  #enabled = true;
  #lastError: string | undefined;

  constructor(private readonly options: MtlsSettingOptions) {}

  get enabled(): boolean {
    return this.#enabled;
  }

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.refresh();
      await sleep(this.options.pollMs ?? 10_000, signal);
    }
  }

  async refresh(): Promise<void> {
    const { kube, namespace, logger, configurationName = 'daprsystem' } = this.options;
    let next: boolean;
    try {
      const configuration = await kube.daprConfiguration(namespace, configurationName);
      const enabled = (configuration?.['spec'] as { mtls?: { enabled?: unknown } } | undefined)?.mtls?.enabled;
      next = typeof enabled === 'boolean' ? enabled : true;
    } catch (error) {
      // Once per distinct error: a missing permission would otherwise repeat every poll.
      const text = String((error as Error).message);
      const fields = { configuration: `${namespace}/${configurationName}`, mtls: this.#enabled, error };
      if (text !== this.#lastError) logger.warn('cannot read the system Configuration; keeping the mTLS setting', fields);
      else logger.debug('still cannot read the system Configuration', fields);
      this.#lastError = text;
      return;
    }
    this.#lastError = undefined;
    if (next !== this.#enabled) logger.info('sidecar mTLS setting changed', { configuration: `${namespace}/${configurationName}`, mtls: next });
    this.#enabled = next;
  }
}
