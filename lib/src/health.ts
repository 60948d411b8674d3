// Readiness bookkeeping and the health HTTP server. Dapr's binaries answer `/healthz` on `--healthz-port` with 200
// once every readiness target is ready and 503 before (spec §11.8); Helm points liveness and readiness probes at it.
// tapr adds `/readyz`, which also turns 503 while the service drains on shutdown, so a load balancer stops sending
// new work before the listeners close. Both are answered by node:http itself; express (about 5 MiB RSS) is loaded
// only for a service that adds routes of its own.
import type { Express } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from './logger.js';
import { HttpServerPart } from './httpServer.js';

export interface ReadinessTarget {
  readonly name: string;
  ready(): void;
  notReady(reason?: string): void;
}

export class Readiness {
  readonly #targets = new Map<string, string | undefined>();
  #draining = false;

  /** Registers a target that starts not ready; the service is ready once every target says so. */
  target(name: string): ReadinessTarget {
    if (this.#targets.has(name)) throw new Error(`readiness target "${name}" is registered twice`);
    this.#targets.set(name, 'starting');
    return {
      name,
      ready: () => this.#targets.set(name, undefined),
      notReady: (reason = 'not ready') => this.#targets.set(name, reason),
    };
  }

  /** Marks the service as shutting down: `/readyz` turns 503, `/healthz` keeps Dapr's meaning. */
  drain(): void {
    this.#draining = true;
  }

  get healthy(): boolean {
    return [...this.#targets.values()].every((reason) => reason === undefined);
  }

  get ready(): boolean {
    return this.healthy && !this.#draining;
  }

  /** Targets that are not ready, with the reason each gave. */
  pending(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, reason] of this.#targets) if (reason !== undefined) out[name] = reason;
    if (this.#draining) out['shutdown'] = 'draining';
    return out;
  }
}

export interface HealthServerOptions {
  port: number;
  /** Dapr ignores `--healthz-listen-address` and binds every interface; tapr honours it when given. */
  host?: string;
  readiness: Readiness;
  logger: Logger;
  /** Extra routes a service adds to the health port (e.g. placement's `/placement/state`). */
  routes?: (app: Express) => void;
}

export class HealthServer extends HttpServerPart {
  constructor(private readonly options: HealthServerOptions) {
    super(options);
  }

  async run(signal: AbortSignal): Promise<void> {
    const { readiness } = this.options;
    let app: Express | undefined;
    if (this.options.routes) {
      const { default: express } = await import('express');
      app = express();
      app.disable('x-powered-by');
      this.options.routes(app);
      app.use((_req, res) => res.status(404).json({ error: notFound }));
    }
    await this.serve((req, res) => {
      const path = (req.url ?? '/').split('?', 1)[0]!.replace(/(.)\/$/, '$1').toLowerCase();
      if (path === '/healthz') reply(req, res, readiness.healthy ? 200 : 503, { status: readiness.healthy ? 'ok' : 'not ready', pending: readiness.pending() });
      else if (path === '/readyz') reply(req, res, readiness.ready ? 200 : 503, { status: readiness.ready ? 'ok' : 'not ready', pending: readiness.pending() });
      else if (app) app(req, res);
      else reply(req, res, 404, { error: notFound });
    }, 'health server', signal);
  }
}

const notFound = 'not found: this port serves /healthz and /readyz';

function reply(req: IncomingMessage, res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(req.method === 'HEAD' ? undefined : text);
}
