// A trust bundle store in memory with Kubernetes semantics (a Secret plus a separately published ConfigMap, each
// written only if unchanged since read), for unit tests of the authority.
import type { StoredBundle, TrustBundleStore } from '../ca/store.js';

export class MemoryTrustBundleStore implements TrustBundleStore {
  readonly description = 'Secret test/dapr-trust-bundle';
  readonly publishedDescription = 'ConfigMap test/dapr-trust-bundle';
  entries: Record<string, string> = {};
  published: string | undefined;
  #secretVersion = 0;
  #configMapVersion = 0;
  writes = 0;
  publishes = 0;
  /** Runs after a read and before the write it precedes: lets a test change things in between. */
  beforeWrite?: () => void;

  constructor(private readonly withPublishedCopy = true) {}

  async read(): Promise<StoredBundle> {
    return {
      entries: { ...this.entries },
      published: this.withPublishedCopy ? { anchors: this.published } : undefined,
      token: { secret: this.#secretVersion, configMap: this.#configMapVersion },
    };
  }

  async write(entries: Record<string, string>, bundleKeys: readonly string[], basedOn: StoredBundle): Promise<boolean> {
    this.beforeWrite?.();
    if ((basedOn.token as { secret: number }).secret !== this.#secretVersion) return false;
    const next = { ...this.entries };
    for (const key of bundleKeys) delete next[key];
    this.entries = { ...next, ...entries };
    this.#secretVersion++;
    this.writes++;
    return true;
  }

  async publish(anchorsPem: string, basedOn: StoredBundle): Promise<boolean> {
    if (!this.withPublishedCopy) return true;
    if ((basedOn.token as { configMap: number }).configMap !== this.#configMapVersion) return false;
    this.published = anchorsPem;
    this.#configMapVersion++;
    this.publishes++;
    return true;
  }

  /** Changes the Secret from outside (a person, Helm, another sentry). */
  replace(entries: Record<string, string>): void {
    this.entries = { ...entries };
    this.#secretVersion++;
  }
}
