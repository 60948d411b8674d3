// The trust anchors file (`--trust-anchors-file`, the `dapr-trust-bundle` ConfigMap mounted into control-plane
// pods): read at start, watched for changes — Kubernetes updates ConfigMap mounts by swapping a symlink, which
// fs.watch misses, so the file is polled and compared.
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import type { Logger } from '../logger.js';

export interface TrustAnchorsFileOptions {
  file: string;
  logger: Logger;
  pollMs?: number;
}

export class TrustAnchorsFile {
  #pem: string;
  readonly #listeners = new Set<(pem: string) => void>();

  /** Reads the file now; throws with the path when it is missing or holds no certificate. */
  constructor(private readonly options: TrustAnchorsFileOptions) {
    this.#pem = TrustAnchorsFile.check(readFileSyncOrThrow(options.file), options.file);
  }

  /**
   * The file once it holds a certificate: on a fresh install the `dapr-trust-bundle` ConfigMap appears only after
   * sentry's first start, and the kubelet fills the mount later still, so a missing or empty file is waited for
   * (a warning now and then), as Dapr's services wait (dapr/kit trustanchors/file: "not found, waiting...").
   * Rejects when `signal` aborts first.
   */
  static async open(options: TrustAnchorsFileOptions & { signal?: AbortSignal; waitLogMs?: number }): Promise<TrustAnchorsFile> {
    const { file, logger, signal, pollMs = 1000, waitLogMs = 10_000 } = options;
    let lastLog = -Infinity;
    for (;;) {
      try {
        return new TrustAnchorsFile(options);
      } catch (error) {
        if (Date.now() - lastLog >= waitLogMs) {
          logger.warn('trust anchors file not ready, waiting', { file, error: (error as Error).message });
          lastLog = Date.now();
        }
      }
      if (signal?.aborted) throw new Error(`stopped while waiting for the trust anchors file ${file}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, pollMs);
        function done() {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          resolve();
        }
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  }

  current(): string {
    return this.#pem;
  }

  subscribe(listener: (pem: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async run(signal: AbortSignal): Promise<void> {
    const { file, logger, pollMs = 2000 } = this.options;
    while (!signal.aborted) {
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve(undefined);
        }, { once: true });
      });
      if (signal.aborted) break;
      let next: string;
      try {
        next = TrustAnchorsFile.check(await readFile(file, 'utf8'), file);
      } catch (error) {
        logger.warn('cannot read the trust anchors file; keeping the previous anchors', { file, error });
        continue;
      }
      if (next === this.#pem) continue;
      this.#pem = next;
      logger.info('trust anchors changed', { file });
      for (const listener of [...this.#listeners]) listener(next);
    }
  }

  private static check(pem: string, file: string): string {
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`trust anchors file ${file} holds no PEM certificate`);
    return pem;
  }
}

function readFileSyncOrThrow(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read the trust anchors file ${file}: ${(error as Error).message}`, { cause: error });
  }
}
