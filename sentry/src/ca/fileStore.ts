// The trust bundle in a directory (self-hosted mode, spec §2.5): `ca.crt`, `issuer.crt`, `issuer.key` (names from
// the --issuer-*-filename flags; absolute names are used as they are) plus tapr's rotation files, written 0600.
// Each file is replaced atomically (write to a temporary file, rename); a write proceeds only if the files still
// hold what was read, and creating a bundle claims `issuer.key` exclusively first, so two sentries sharing a
// directory end with one bundle.
import { createHash, randomBytes } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { StoredBundle, TrustBundleStore } from './store.js';

export interface FileStoreOptions {
  /** Entry name (as used in bundle material) → file path. */
  files: Record<string, string>;
  /** The entry written first, exclusively, when creating a bundle (the issuer key: without it no bundle is read). */
  claimEntry: string;
}

export class FileTrustBundleStore implements TrustBundleStore {
  readonly description: string;
  readonly publishedDescription: string;

  constructor(private readonly options: FileStoreOptions) {
    const dirs = [...new Set(Object.values(options.files).map((file) => path.dirname(file)))];
    this.description = `directory ${dirs.join(', ')}`;
    this.publishedDescription = this.description;
  }

  async read(): Promise<StoredBundle> {
    const entries: Record<string, string> = {};
    for (const [key, file] of Object.entries(this.options.files)) {
      const text = await readIfExists(file);
      if (text !== undefined) entries[key] = text;
    }
    return { entries, token: digest(entries) };
  }

  async write(entries: Record<string, string>, bundleKeys: readonly string[], basedOn: StoredBundle): Promise<boolean> {
    const now = await this.read();
    if (now.token !== basedOn.token) return false;
    const creating = Object.keys(basedOn.entries).length === 0;
    const claim = this.options.claimEntry;
    const order = Object.keys(entries).sort((a, b) => (a === claim ? -1 : b === claim ? 1 : 0));
    for (const key of order) {
      const file = this.#file(key);
      if (creating && key === claim) {
        // The exclusive create decides which of two racing sentries writes the bundle.
        try {
          const handle = await open(file, 'wx', 0o600);
          await handle.writeFile(entries[key] as string);
          await handle.close();
          continue;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
          throw new Error(`cannot write ${file}: ${(error as Error).message}`, { cause: error });
        }
      }
      await writeAtomically(file, entries[key] as string);
    }
    for (const key of bundleKeys) {
      if (!(key in entries) && this.options.files[key]) await rm(this.options.files[key] as string, { force: true });
    }
    return true;
  }

  /** The directory's `ca.crt` is the published copy; there is nothing else to publish. */
  async publish(): Promise<boolean> {
    return true;
  }

  watch(onChange: () => void, signal: AbortSignal): void {
    const watchers: FSWatcher[] = [];
    for (const dir of new Set(Object.values(this.options.files).map((file) => path.dirname(file)))) {
      try {
        const watcher = watch(dir, { persistent: false }, () => onChange());
        watcher.on('error', () => undefined);
        watchers.push(watcher);
      } catch {
        // A directory that does not exist yet is covered by polling.
      }
    }
    signal.addEventListener('abort', () => watchers.forEach((w) => w.close()), { once: true });
  }

  #file(key: string): string {
    const file = this.options.files[key];
    if (!file) throw new Error(`no file configured for trust bundle entry ${key}`);
    return file;
  }
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temp, text, { mode: 0o600 });
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw new Error(`cannot write ${file}: ${(error as Error).message}`, { cause: error });
  }
}

function digest(entries: Record<string, string>): string {
  const hash = createHash('sha256');
  for (const key of Object.keys(entries).sort()) hash.update(`${key}\0${entries[key]}\0`);
  return hash.digest('hex');
}
