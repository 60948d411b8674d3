// The HTTPS endpoint the API server calls: POST /mutate with an AdmissionReview. A bare node:https handler (no
// framework on the hot path); the TLS context is swapped in place when the serving certificate rotates.
// Status codes: 404 other paths, 405 other methods, 415 not JSON (as Dapr), 413 too large, 400 unreadable review;
// a readable review always gets 200 with the decision inside.
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { closeServer, listenServer, type Logger, type ReadinessTarget } from '@tapr/lib';
import type { Admission } from './admission.js';
import { MalformedReview } from './admissionReview.js';
import { ReviewCache } from './reviewCache.js';
import { ReviewResponder, type Reply } from './reviewResponder.js';
import type { InjectorMetrics } from './metrics.js';
import type { ServingCertificateSource } from './servingCertificate.js';

export interface WebhookServerOptions {
  port: number;
  host?: string;
  certificates: ServingCertificateSource;
  admission: Admission;
  metrics: InjectorMetrics;
  readiness: ReadinessTarget;
  logger: Logger;
  /** The largest body accepted (a pod is at most ~1.5 MiB in etcd; the review wraps it). */
  maxBodyBytes?: number;
  /** Reuse answers for identical requests (replicas); default true. */
  cacheAnswers?: boolean;
}

export class WebhookServer {
  #server: https.Server | undefined;
  readonly #responder: ReviewResponder;

  constructor(private readonly options: WebhookServerOptions) {
    this.#responder = new ReviewResponder(options.admission, options.cacheAnswers === false ? undefined : new ReviewCache());
  }

  get port(): number {
    const address = this.#server?.address();
    return typeof address === 'object' && address ? address.port : this.options.port;
  }

  async run(signal: AbortSignal): Promise<void> {
    const { certificates, logger, readiness } = this.options;
    let first;
    try {
      first = await certificates.ready(signal);
    } catch {
      return;
    }
    const server = https.createServer(
      { cert: first.certChainPem, key: first.keyPem, minVersion: 'TLSv1.2' },
      (req, res) => this.handle(req, res),
    );
    // The API server's client keeps idle connections for 90 s; closing ours later than that avoids racing a
    // request onto a connection we are closing (which would fail one admission call).
    server.keepAliveTimeout = 120_000;
    server.headersTimeout = 30_000;
    server.requestTimeout = 30_000;
    const unsubscribe = certificates.subscribe((certificate) => {
      server.setSecureContext({ cert: certificate.certChainPem, key: certificate.keyPem, minVersion: 'TLSv1.2' });
      logger.info('webhook serving certificate rotated');
    });
    try {
      this.#server = await listenServer(server, this.options.port, this.options.host);
      logger.info('sidecar injector listening', { address: this.options.host || '*', port: this.port, path: '/mutate' });
      readiness.ready();
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      readiness.notReady('shutting down');
      await closeServer(server);
    } finally {
      unsubscribe();
    }
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = req.url === undefined ? '' : req.url.split('?', 1)[0];
    if (path !== '/mutate') return plain(res, 404, 'not found: the sidecar injector serves POST /mutate');
    if (req.method !== 'POST') return plain(res, 405, 'method not allowed: use POST', { allow: 'POST' });
    const contentType = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
    if (contentType !== 'application/json') return plain(res, 415, `invalid Content-Type ${JSON.stringify(contentType)}: expected application/json`);
    const limit = this.options.maxBodyBytes ?? 8 * 1024 * 1024;
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > limit) return plain(res, 413, `request body larger than ${limit} bytes`);
      this.answer(chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8'), res);
    });
    req.on('error', (error) => this.options.logger.debug('admission request stream failed', { error }));
  }

  private answer(body: string, res: ServerResponse): void {
    const started = performance.now();
    const { metrics, logger } = this.options;
    metrics.requests.inc();
    let reply: Reply | Promise<Reply>;
    try {
      reply = this.#responder.respond(body);
    } catch (error) {
      if (error instanceof MalformedReview) {
        metrics.record({ result: 'malformed' }, (performance.now() - started) / 1000);
        logger.warn('unreadable admission request', { error: error.message });
        return plain(res, 400, error.message);
      }
      logger.error('admission review failed', { error });
      return plain(res, 500, `the injector failed to process the request: ${(error as Error).message}`);
    }
    if (reply instanceof Promise) {
      reply.then(
        (settled) => this.send(settled, res, started),
        (error: unknown) => {
          logger.error('admission review failed', { error });
          plain(res, 500, `the injector failed: ${(error as Error).message}`);
        },
      );
      return;
    }
    this.send(reply, res, started);
  }

  private send({ request, outcome, text }: Reply, res: ServerResponse, started: number): void {
    const { metrics, logger } = this.options;
    res.writeHead(200, ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(text))]).end(text);
    metrics.record(outcome, (performance.now() - started) / 1000);
    if (outcome.result === 'denied') {
      logger.warn('pod denied', { namespace: request.namespace, appId: outcome.appId, reason: outcome.reason, user: request.userInfo?.username, detail: outcome.message });
    } else if (outcome.result === 'injected' && logger.isDebugEnabled()) {
      logger.debug('sidecar injected', { namespace: request.namespace, appId: outcome.appId, uid: request.uid, user: request.userInfo?.username });
    }
  }
}

function plain(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  const text = `${message}\n`;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers }).end(text);
}
