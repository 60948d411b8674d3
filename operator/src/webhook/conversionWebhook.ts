// The conversion webhook server (`--webhook-server-port` 19443, path /convert; Service `dapr-webhook` 443 → 19443):
// HTTPS with the operator's SVID, which sentry issues with the DNS name dapr-webhook.<namespace>.svc, and no client
// certificate (the API server does not present one). A rotated SVID applies to new connections.
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { closeServer, listenServer } from '@tapr/lib/httpServer';
import { tlsOptionsFromSvid } from '@tapr/lib/security/grpcTls';
import type { Logger } from '@tapr/lib/logger';
import type { SvidSource } from '@tapr/lib/security/svid';
import { reviewConversion, type ConversionReview } from './subscriptionConversion.js';

export interface ConversionWebhookOptions {
  port: number;
  /** "" = every interface. */
  host: string;
  svid: SvidSource;
  logger: Logger;
  onListening?: (port: number) => void;
}

const maxBodyBytes = 8 * 1024 * 1024;

export class ConversionWebhook {
  #port = 0;

  constructor(private readonly options: ConversionWebhookOptions) {}

  get port(): number {
    return this.#port;
  }

  async run(signal: AbortSignal): Promise<void> {
    const { logger } = this.options;
    const svid = await this.options.svid.ready(signal);
    const server = https.createServer({ ...tlsOptionsFromSvid(svid), requestCert: false }, (req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        logger.error('conversion request failed', { error });
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end('conversion failed\n');
      });
    });
    const unsubscribe = this.options.svid.subscribe((next) => server.setSecureContext(tlsOptionsFromSvid(next)));
    try {
      await listenServer(server, this.options.port, this.options.host || undefined);
      const address = server.address();
      this.#port = typeof address === 'object' && address ? address.port : this.options.port;
      logger.info('conversion webhook listening', { port: this.#port, path: '/convert' });
      this.options.onListening?.(this.#port);
      await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
    } finally {
      unsubscribe();
      await closeServer(server);
    }
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/convert') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: this server answers POST /convert\n');
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST', 'content-type': 'text/plain' }).end('use POST\n');
      return;
    }
    let review: ConversionReview;
    try {
      review = JSON.parse(await readBody(req)) as ConversionReview;
    } catch (error) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end(`the body is not a ConversionReview: ${(error as Error).message}\n`);
      return;
    }
    const answer = reviewConversion(review);
    const result = (answer['response'] as { result?: { status?: string; message?: string } }).result;
    if (result?.status !== 'Success') this.options.logger.warn('conversion refused', { message: result?.message });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        reject(new Error(`larger than ${maxBodyBytes} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
