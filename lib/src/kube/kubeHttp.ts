// A small JSON client for the Kubernetes API (ClusterAccess says where and how). The services talk to objects by
// path and stream watches line by line; client-node's generated typed clients add nothing here but memory (see
// clusterAccess.ts), while one keep-alive agent per process saves a TLS handshake per request and lets a watch see
// its HTTP status. Object shapes can still be client-node's types (`import type` costs nothing at run time).
import http from 'node:http';
import https from 'node:https';
import { createInterface } from 'node:readline';
import type { ClusterAccess } from './clusterAccess.js';

/** A failed API call: the HTTP status and the Kubernetes `Status` reason and message when the server sent one. */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KubeApiError';
  }
}

export function isNotFound(error: unknown): boolean {
  return error instanceof KubeApiError && error.status === 404;
}
export function isConflict(error: unknown): boolean {
  return error instanceof KubeApiError && error.status === 409;
}
export function isGone(error: unknown): boolean {
  return error instanceof KubeApiError && error.status === 410;
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  /** Content type of the body (merge/JSON patch); JSON by default. */
  contentType?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** One line of a watch stream, as the API server sends it. */
export interface RawWatchEvent {
  type: string;
  object: unknown;
}

const defaultTimeoutMs = 30_000;

export interface KubeHttpOptions {
  /** The User-Agent of every request (the API server's audit log shows it), e.g. `tapr-operator`. */
  userAgent?: string;
}

export class KubeHttp {
  readonly #access: ClusterAccess;
  readonly #server: URL;
  readonly #agent: http.Agent;
  readonly #userAgent: string;

  constructor(access: ClusterAccess, options: KubeHttpOptions = {}) {
    this.#access = access;
    this.#userAgent = options.userAgent ?? 'tapr';
    this.#server = access.server;
    const secure = this.#server.protocol === 'https:';
    this.#agent = secure ? new https.Agent({ keepAlive: true, maxSockets: 64 }) : new http.Agent({ keepAlive: true, maxSockets: 64 });
  }

  /** The API server's URL (for logs). */
  get server(): string {
    return this.#server.origin;
  }

  async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.#send(method, path, options);
    const text = await readBody(response);
    const status = response.statusCode ?? 0;
    if (status < 200 || status >= 300) throw apiError(method, path, status, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** GET that resolves undefined when the object (or its resource type) does not exist. */
  async getIfExists<T = unknown>(path: string, options: Omit<RequestOptions, 'body' | 'contentType'> = {}): Promise<T | undefined> {
    try {
      return await this.request<T>('GET', path, options);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /**
   * Streams a watch: calls `onEvent` for every line until the server ends the stream (resolves) or the request
   * fails (rejects with a KubeApiError for HTTP errors). An exception from `onEvent` stops the stream and rejects.
   */
  async watch(path: string, query: Query, onEvent: (event: RawWatchEvent) => void, signal: AbortSignal): Promise<void> {
    const response = await this.#send('GET', path, { query: { ...query, watch: true }, signal, timeoutMs: 0 });
    const status = response.statusCode ?? 0;
    if (status !== 200) throw apiError('WATCH', path, status, await readBody(response));
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (error?: unknown) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        lines.close();
        response.destroy();
        if (error) reject(error);
        else resolve();
      };
      const onAbort = () => finish();
      const lines = createInterface({ input: response, crlfDelay: Infinity });
      lines.on('line', (line) => {
        if (settled || !line.trim()) return;
        let event: RawWatchEvent;
        try {
          event = JSON.parse(line) as RawWatchEvent;
        } catch (error) {
          finish(new Error(`watch ${path}: the API server sent a line that is not JSON`, { cause: error }));
          return;
        }
        try {
          onEvent(event);
        } catch (error) {
          finish(error);
        }
      });
      lines.on('close', () => finish());
      response.on('error', (error) => finish(new Error(`watch ${path}: ${error.message}`, { cause: error })));
      response.on('aborted', () => finish(new Error(`watch ${path}: the connection was cut`)));
      if (signal.aborted) finish();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Closes idle keep-alive connections (on shutdown). */
  close(): void {
    this.#agent.destroy();
  }

  async #send(method: string, path: string, options: RequestOptions): Promise<http.IncomingMessage> {
    const url = new URL(this.#server.pathname.replace(/\/$/, '') + path, this.#server);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined && value !== '') url.searchParams.set(key, String(value));
    }
    const access = this.#access;
    const credentials = await access.credentials();
    const body = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    const headers: http.OutgoingHttpHeaders = {
      ...credentials.headers,
      accept: 'application/json',
      'user-agent': this.#userAgent,
    };
    if (body) {
      headers['content-type'] = options.contentType ?? 'application/json';
      headers['content-length'] = body.length;
    }
    const requestOptions: https.RequestOptions = {
      method,
      headers,
      agent: this.#agent,
      ca: access.ca,
      cert: credentials.cert ?? access.cert,
      key: credentials.key ?? access.key,
      rejectUnauthorized: !access.skipTlsVerify,
      servername: access.tlsServerName,
      signal: options.signal,
    };
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const request = transport.request(url, requestOptions, resolve);
      const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
      if (timeoutMs > 0) {
        request.setTimeout(timeoutMs, () => request.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
      }
      request.on('error', (error) => reject(new Error(`${method} ${path}: ${error.message}`, { cause: error })));
      request.end(body);
    });
  }
}

function readBody(response: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    response.on('error', reject);
  });
}

function apiError(method: string, path: string, status: number, text: string): KubeApiError {
  let reason = http.STATUS_CODES[status] ?? 'Unknown';
  let message = text.slice(0, 500);
  try {
    const parsed = JSON.parse(text) as { kind?: string; reason?: string; message?: string };
    if (parsed.kind === 'Status') {
      reason = parsed.reason || reason;
      message = parsed.message || message;
    }
  } catch {
    // not a Status object: keep the raw text
  }
  return new KubeApiError(status, reason, `${method} ${path}: ${status} ${reason}${message ? `: ${message}` : ''}`);
}
