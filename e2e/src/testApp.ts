// A small app for a stock daprd to talk to: it serves what Dapr calls on an app (GET /dapr/config for actor types,
// GET /dapr/subscribe for programmatic subscriptions, topic deliveries, actor methods, job triggers) and records
// every request so tests can see what daprd delivered.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AppRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface TestAppOptions {
  name: string;
  /** Actor types this app hosts (answered on GET /dapr/config). */
  actorTypes?: string[];
  /** Programmatic subscriptions (answered on GET /dapr/subscribe). */
  subscriptions?: Array<{ pubsubname: string; topic: string; route: string }>;
}

export class TestApp {
  readonly requests: AppRequest[] = [];
  private constructor(
    private readonly server: http.Server,
    readonly options: TestAppOptions,
  ) {}

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  static async start(options: TestAppOptions): Promise<TestApp> {
    let app: TestApp | undefined;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => app!.handle(req, Buffer.concat(chunks).toString(), res));
    });
    app = new TestApp(server, options);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return app;
  }

  private handle(req: http.IncomingMessage, body: string, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://app');
    this.requests.push({ method: req.method ?? '', path: url.pathname, headers: req.headers, body, at: Date.now() });
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    if (req.method === 'GET' && url.pathname === '/dapr/config') {
      return json(200, { entities: this.options.actorTypes ?? [], actorIdleTimeout: '1h', drainOngoingCallTimeout: '5s', drainRebalancedActors: true });
    }
    if (req.method === 'GET' && url.pathname === '/dapr/subscribe') return json(200, this.options.subscriptions ?? []);
    // Actor method: answer with who served it, so a test can tell which host placement chose.
    const actor = /^\/actors\/([^/]+)\/([^/]+)\/method\/([^/]+)$/.exec(url.pathname);
    if (actor && req.method === 'PUT') return json(200, { host: this.options.name, actorType: actor[1], actorId: actor[2], method: actor[3], body });
    if (/^\/actors\/[^/]+\/[^/]+$/.test(url.pathname) && req.method === 'DELETE') return json(200, {});
    if (/^\/actors\/[^/]+\/[^/]+\/method\/remind\//.test(url.pathname)) return json(200, {});
    if (url.pathname === '/healthz') return json(200, { ok: true });
    // A job trigger (daprd: POST /job/<name>, the job's data as the body): 200 acks it, which daprd reports as SUCCESS.
    if (req.method === 'POST' && /^\/job\/[^/]+$/.test(url.pathname)) return json(200, {});
    // Service invocation and topic deliveries: say who answered and echo the body.
    if (url.pathname.startsWith('/echo')) return json(200, { app: this.options.name, method: req.method, path: url.pathname, body });
    return json(200, { status: 'SUCCESS' });
  }

  /** The requests to `path` (exact) or matching `pattern`. */
  received(pattern: string | RegExp): AppRequest[] {
    return this.requests.filter((r) => (typeof pattern === 'string' ? r.path === pattern : pattern.test(r.path)));
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }
}
