// Readiness bookkeeping and the health HTTP server. Dapr's binaries answer `/healthz` on `--healthz-port` with 200
// once every readiness target is ready and 503 before (spec §11.8); Helm points liveness and readiness probes at it.
// tapr adds `/readyz`, which also turns 503 while the service drains on shutdown, so a load balancer stops sending
// new work before the listeners close.
import express from 'express';
import type { Server } from 'node:http';
import type { Logger } from './logger.js';
import { listen, closeServer, deferred } from './httpServer.js';

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
  routes?: (app: express.Express) => void;
}

export class HealthServer {
  #server: Server | undefined;
  readonly #listening = deferred();
  constructor(private readonly options: HealthServerOptions) {}

  async run(signal: AbortSignal): Promise<void> {
    const { readiness } = this.options;
    const app = express();
    app.disable('x-powered-by');
    app.all('/healthz', (_req, res) => {
      res.status(readiness.healthy ? 200 : 503).json({ status: readiness.healthy ? 'ok' : 'not ready', pending: readiness.pending() });
    });
    app.all('/readyz', (_req, res) => {
      res.status(readiness.ready ? 200 : 503).json({ status: readiness.ready ? 'ok' : 'not ready', pending: readiness.pending() });
    });
    this.options.routes?.(app);
    app.use((_req, res) => res.status(404).json({ error: 'not found: this port serves /healthz and /readyz' }));
    this.#server = await listen(app, this.options.port, this.options.host);
    this.options.logger.info('health server listening', { port: this.port });
    this.#listening.resolve();
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    await closeServer(this.#server);
  }

  whenListening(): Promise<void> {
    return this.#listening.promise;
  }

  /** The bound port (useful when started on port 0). */
  get port(): number {
    const address = this.#server?.address();
    return typeof address === 'object' && address ? address.port : this.options.port;
  }
}
