// A hand-written KubeAccess for unit tests: in-memory ServiceAccounts, Configurations, Components, Secrets and
// webhook caBundles, with switchable failures.
import type { KubeAccess } from '../kubeAccess.js';

export class FakeKube implements KubeAccess {
  serviceAccounts = new Map<string, string>();
  configurations = new Map<string, Record<string, unknown>>();
  componentList: Array<Record<string, unknown>> = [];
  secrets = new Map<string, Record<string, string>>();
  caBundles = new Map<string, string>();
  patchCalls = 0;
  failing = new Set<'serviceAccount' | 'configuration' | 'patch' | 'components'>();

  async serviceAccountUid(namespace: string, name: string): Promise<string | undefined> {
    if (this.failing.has('serviceAccount')) throw new Error('API server unavailable');
    return this.serviceAccounts.get(`${namespace}/${name}`);
  }

  async daprConfiguration(namespace: string, name: string): Promise<Record<string, unknown> | undefined> {
    if (this.failing.has('configuration')) throw new Error('API server unavailable');
    return this.configurations.get(`${namespace}/${name}`);
  }

  async components(): Promise<Array<Record<string, unknown>>> {
    if (this.failing.has('components')) throw new Error('forbidden');
    return this.componentList;
  }

  async patchWebhookCaBundle(name: string, caBundleBase64: string): Promise<string | undefined> {
    this.patchCalls++;
    if (this.failing.has('patch')) throw new Error('API server unavailable');
    this.caBundles.set(name, caBundleBase64);
    return String(this.patchCalls);
  }

  async readSecret(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    return this.secrets.get(`${namespace}/${name}`);
  }

  async createSecret(namespace: string, name: string, data: Record<string, string>): Promise<boolean> {
    if (this.secrets.has(`${namespace}/${name}`)) return false;
    this.secrets.set(`${namespace}/${name}`, data);
    return true;
  }
}
