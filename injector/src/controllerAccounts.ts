// Looks up the UIDs of the service accounts whose pods get sidecars (the workload controllers, plus
// ALLOWED_SERVICE_ACCOUNTS) and keeps them fresh. Dapr looks them up once at start; tapr refreshes every few
// minutes, so a controller installed after the injector (Tekton, OLM, …) is recognised without a restart.
// Until the first lookup succeeds the injector is not ready (it would deny every controller-made pod).
import type { Logger, ReadinessTarget } from '@tapr/lib';
import type { AccountRef, CallerAuthorisation } from './callerAuthorisation.js';
import type { KubeAccess } from './kubeAccess.js';
import { Backoff, sleep } from './sleep.js';

export interface ControllerAccountsOptions {
  accounts: readonly AccountRef[];
  kube: KubeAccess;
  authorisation: CallerAuthorisation;
  readiness: ReadinessTarget;
  logger: Logger;
  refreshMs?: number;
}

export class ControllerAccounts {
  constructor(private readonly options: ControllerAccountsOptions) {}

  async run(signal: AbortSignal): Promise<void> {
    const { logger, refreshMs = 5 * 60_000 } = this.options;
    const backoff = new Backoff();
    let known = '';
    while (!signal.aborted) {
      try {
        const found = await this.lookUp();
        this.options.authorisation.setAllowedUids(found.map((f) => f.uid));
        this.options.readiness.ready();
        backoff.reset();
        const summary = found.map((f) => `${f.namespace}:${f.name}`).join(',');
        if (summary !== known) logger.info('allowed controller service accounts', { found: summary, of: this.options.accounts.length });
        known = summary;
        await sleep(refreshMs, signal);
      } catch (error) {
        logger.warn('looking up the allowed controller service accounts failed; retrying', { error });
        await sleep(backoff.take(), signal);
      }
    }
  }

  /** The accounts that exist, with their UIDs (missing ones are normal: not every cluster runs Tekton). */
  async lookUp(): Promise<Array<AccountRef & { uid: string }>> {
    const results = await Promise.all(
      this.options.accounts.map(async (account) => ({ ...account, uid: await this.options.kube.serviceAccountUid(account.namespace, account.name) })),
    );
    return results.filter((r): r is AccountRef & { uid: string } => r.uid !== undefined);
  }
}
