// Where the trust bundle lives: a Kubernetes Secret (+ the ConfigMap that publishes the roots) or a directory.
// Writes are conditional on what was read, so two sentries racing to create or rotate the bundle end with one
// bundle: the loser's write is refused and it re-reads the winner's.

export interface StoredBundle {
  /** The bundle entries (Secret data / files), decoded to text; empty when nothing is stored. */
  entries: Record<string, string>;
  /**
   * The separately published trust anchors (the ConfigMap's `ca.crt`), when the store has a public copy;
   * `anchors` is undefined when the ConfigMap or its key is missing. Undefined for stores whose roots are
   * published by the entries themselves (the directory).
   */
  published?: { anchors?: string };
  /** Opaque: what conditional writes compare against. */
  readonly token: unknown;
}

export interface TrustBundleStore {
  /** For logs and errors, e.g. `Secret dapr-system/dapr-trust-bundle`. */
  readonly description: string;
  /** Where the roots are published, e.g. `ConfigMap dapr-system/dapr-trust-bundle`. */
  readonly publishedDescription: string;
  read(): Promise<StoredBundle>;
  /**
   * Replaces the bundle entries (keys in `bundleKeys` not in `entries` are removed; other keys are kept) if nothing
   * changed since `basedOn` was read. Resolves false when someone else wrote first.
   */
  write(entries: Record<string, string>, bundleKeys: readonly string[], basedOn: StoredBundle): Promise<boolean>;
  /** Publishes the trust anchors if the public copy did not change since `basedOn`; false on a conflict. */
  publish(anchorsPem: string, basedOn: StoredBundle): Promise<boolean>;
  /** Resolves when the store may have changed (file events); used to re-read sooner than the poll. */
  watch?(onChange: () => void, signal: AbortSignal): void;
}
