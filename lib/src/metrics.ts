// Prometheus metrics: one registry per service (passed to the parts that record), served as text on every path of
// the metrics port — Dapr's Helm chart scrapes `/`, its tests read `/metrics` (spec §11.8).
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from './logger.js';
import { HttpServerPart } from './httpServer.js';

export { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** A registry with the process metrics (memory, CPU, event-loop lag) every service exports. */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

export interface MetricsServerOptions {
  port: number;
  host?: string;
  registry: Registry;
  logger: Logger;
}

export class MetricsServer extends HttpServerPart {
  constructor(private readonly options: MetricsServerOptions) {
    super(options);
  }

  async run(signal: AbortSignal): Promise<void> {
    const { registry } = this.options;
    await this.serve(async (_req, res) => {
      try {
        const body = await registry.metrics();
        res.writeHead(200, { 'content-type': registry.contentType }).end(body);
      } catch (error) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`collecting metrics failed: ${(error as Error).message}\n`);
      }
    }, 'metrics server', signal);
  }
}
