// The JWKS validator (spec §2.7): the token is a JWT signed by a key from a configured JSON Web Key Set, whose
// audience includes sentry's SPIFFE ID and whose subject is exactly the SPIFFE ID asked for
// (`spiffe://<td>/ns/<namespace>/<id>`), with 5 minutes of clock skew. The key set comes, as in Dapr, from an
// http(s) URL (re-fetched when a token names an unknown key, at most every minRefreshInterval), a file (re-read
// when it changes), or the option value itself (JSON, optionally base64). JWT handling is `jose`'s.
import { createLocalJWKSet, createRemoteJWKSet, customFetch, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import https from 'node:https';
import http from 'node:http';
import { existsSync, statSync, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { deferred, formatSpiffeId, parseGoDuration, type Logger, type ReadinessTarget } from '@tapr/lib';
import { ValidationError, validateCommon, type SignRequest, type ValidationResult, type Validator } from './validator.js';
import type { JwksOptions } from './jwksOptions.js';
import { setTimeout as delay } from 'node:timers/promises';

export { parseJwksOptions, type JwksOptions } from './jwksOptions.js';

const skewSeconds = 5 * 60;

export interface JwksValidatorOptions {
  jwks: JwksOptions;
  /** Sentry's SPIFFE ID: tokens must name it in `aud`. */
  sentryId: string;
  logger: Logger;
  readiness?: ReadinessTarget;
}

export class JwksValidator implements Validator {
  readonly name = 'JWKS' as const;
  #keys: JWTVerifyGetKey | undefined;
  readonly #loaded = deferred();

  constructor(private readonly options: JwksValidatorOptions) {}

  /** Resolves once the first key set is loaded. */
  whenReady(): Promise<void> {
    return this.#loaded.promise;
  }

  /** Loads the key set (and keeps a file source current); the validator is ready once the first load succeeded. */
  async run(signal: AbortSignal): Promise<void> {
    const { jwks, logger, readiness } = this.options;
    readiness?.notReady('loading the JWKS');
    const source = jwks.source;
    if (/^https?:\/\//.test(source)) {
      if (source.startsWith('http://')) logger.warn('loading the JWKS over HTTP without TLS: not for production');
      const keys = createRemoteJWKSet(new URL(source), {
        timeoutDuration: jwks.requestTimeout ? parseGoDuration(jwks.requestTimeout) : 30_000,
        cooldownDuration: jwks.minRefreshInterval ? parseGoDuration(jwks.minRefreshInterval) : 600_000,
        [customFetch]: fetchWithCa(jwks.caCertificate),
      });
      // Fetch once now, as Dapr does, so a wrong URL shows at start.
      for (let delay = 1000; !signal.aborted; delay = Math.min(delay * 2, 30_000)) {
        try {
          await keys.reload();
          break;
        } catch (error) {
          logger.warn('cannot fetch the JWKS; retrying', { source, error: (error as Error).message, retryInMs: delay });
          await sleep(delay, signal);
        }
      }
      this.#keys = keys;
    } else if (existsSync(source) && statSync(source).isFile()) {
      const load = async () => {
        try {
          this.#keys = createLocalJWKSet(JSON.parse(await readFile(source, 'utf8')) as JSONWebKeySet);
          logger.info('loaded the JWKS file', { file: source });
        } catch (error) {
          logger.error('cannot read the JWKS file; keeping the previous keys', { file: source, error: (error as Error).message });
        }
      };
      await load();
      const watcher = watch(path.dirname(source), { persistent: false }, () => void load());
      watcher.on('error', () => undefined);
      signal.addEventListener('abort', () => watcher.close(), { once: true });
    } else {
      this.#keys = createLocalJWKSet(inlineJwks(source));
    }
    if (this.#keys) {
      readiness?.ready();
      this.#loaded.resolve();
    }
    await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
  }

  async validate(request: SignRequest): Promise<ValidationResult> {
    // Dapr answers every JWKS refusal with PermissionDenied, and its integration tests pin that; so does tapr here.
    if (request.token === '') throw new ValidationError('permission-denied', 'the request does not contain a token');
    const keys = this.#keys;
    if (!keys) throw new ValidationError('unavailable', 'jwks validator not ready');
    const trustDomain = validateCommon(request);
    const subject = formatSpiffeId({ trustDomain, namespace: request.namespace, appId: request.id });
    try {
      await jwtVerify(request.token, keys, { audience: this.options.sentryId, subject, clockTolerance: skewSeconds });
    } catch (error) {
      throw new ValidationError('permission-denied', `token validation failed: ${(error as Error).message}`, { cause: error });
    }
    return { trustDomain };
  }
}

/** The option value as a JWKS: JSON, or base64 of JSON (Dapr accepts both). */
export function inlineJwks(value: string): JSONWebKeySet {
  for (const text of [value, Buffer.from(value.replace(/=+$/, ''), 'base64').toString('utf8')]) {
    try {
      const parsed = JSON.parse(text) as JSONWebKeySet;
      if (Array.isArray(parsed?.keys)) return parsed;
    } catch {
      // try the next form
    }
  }
  throw new Error("failed to parse property 'source': not a URL, path to local file, or JSON value (optionally base64-encoded)");
}

/** A fetch for jose that trusts `caPem` (when given) for https. */
function fetchWithCa(caPem: string | undefined) {
  return (url: string, init: { signal?: AbortSignal; headers?: Headers }): Promise<Response> =>
    new Promise((resolve, reject) => {
      const target = new URL(url);
      const get = target.protocol === 'https:' ? https.get : http.get;
      const headers = Object.fromEntries(init.headers?.entries() ?? []);
      const request = get(target, { ca: caPem, headers, signal: init.signal }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve(new Response(Buffer.concat(chunks), { status: response.statusCode ?? 500, headers: response.headers as Record<string, string> })),
        );
        response.on('error', reject);
      });
      request.on('error', reject);
    });
}

/** Waits `ms`, or less when `signal` aborts (also when it already has). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal }).catch(() => undefined);
}
