// Starting and stopping plain HTTP(S) servers the same way everywhere: listen resolves once bound (or rejects with
// the address in the message), close waits for in-flight requests, then cuts idle keep-alive connections.
import http from 'node:http';
import type { Server } from 'node:http';
import type { Logger } from './logger.js';

export function listen(handler: http.RequestListener, port: number, host?: string): Promise<Server> {
  return listenServer(http.createServer(handler), port, host);
}

export function listenServer<S extends Server>(server: S, port: number, host?: string): Promise<S> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(new Error(`cannot listen on ${host ?? '*'}:${port}: ${error.message}`, { cause: error }));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve(server);
    });
  });
}

/** Stops accepting connections, lets in-flight requests finish for up to `graceMs`, then closes what is left. */
export function closeServer(server: Server, graceMs = 5000): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/** A promise with its resolve/reject exposed, for "resolves once listening" style signals. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

export interface HttpServerPartOptions {
  port: number;
  host?: string;
  logger: Logger;
}

/**
 * A part that serves HTTP until its signal aborts (the health and metrics servers): listens (rejecting with the
 * address when it cannot), logs the bound port, then closes gracefully on abort.
 */
export abstract class HttpServerPart {
  #server: Server | undefined;
  readonly #listening = deferred();

  constructor(protected readonly listenOptions: HttpServerPartOptions) {}

  abstract run(signal: AbortSignal): Promise<void>;

  protected async serve(handler: http.RequestListener, what: string, signal: AbortSignal): Promise<void> {
    const { port, host, logger } = this.listenOptions;
    this.#server = await listen(handler, port, host);
    logger.info(`${what} listening`, { port: this.port });
    this.#listening.resolve();
    if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    await closeServer(this.#server);
  }

  whenListening(): Promise<void> {
    return this.#listening.promise;
  }

  /** The bound port (useful when started on port 0). */
  get port(): number {
    const address = this.#server?.address();
    return typeof address === 'object' && address ? address.port : this.listenOptions.port;
  }
}
