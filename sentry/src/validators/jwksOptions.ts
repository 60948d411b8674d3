// The JWKS validator's options as the daprsystem Configuration gives them (`spec.mtls.tokenValidators`), parsed
// apart from the validator so reading the Configuration does not load jose (the validator is loaded only when
// configured).
import { parseGoDuration } from '@tapr/lib/duration';

export interface JwksOptions {
  /** URL, file path, or the JWKS itself (JSON, optionally base64). */
  source: string;
  /** PEM roots for an https source. */
  caCertificate?: string;
  /** Go duration; default 10m. */
  minRefreshInterval?: string;
  /** Go duration; default 30s. */
  requestTimeout?: string;
}

/** Reads the `options` map of a `tokenValidators` entry; throws naming the bad option. */
export function parseJwksOptions(options: unknown): JwksOptions {
  const map = (options ?? {}) as Record<string, unknown>;
  const text = (name: string) => {
    const value = map[name];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string') throw new Error(`jwks validator option ${name} must be a string`);
    return value;
  };
  const source = text('source');
  if (!source) throw new Error("jwks validator: option 'source' must not be empty (a URL, a file path, or the JWKS itself)");
  for (const name of ['minRefreshInterval', 'requestTimeout']) {
    const value = text(name);
    if (value !== undefined) {
      try {
        parseGoDuration(value);
      } catch (error) {
        throw new Error(`jwks validator option ${name}: ${(error as Error).message}`, { cause: error });
      }
    }
  }
  return { source, caCertificate: text('caCertificate'), minRefreshInterval: text('minRefreshInterval'), requestTimeout: text('requestTimeout') };
}
