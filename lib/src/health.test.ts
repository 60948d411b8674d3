import { HealthServer, Readiness } from './health.js';
import { MetricsServer, createMetricsRegistry, Counter } from './metrics.js';
import { silentLogger } from './logger.js';

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

describe('HealthServer', () => {
  const readiness = new Readiness();
  const grpc = readiness.target('grpc-server');
  const controller = new AbortController();
  const server = new HealthServer({ port: 0, host: '127.0.0.1', readiness, logger: silentLogger() });
  let running: Promise<void>;

  beforeAll(async () => {
    running = server.run(controller.signal);
    await server.whenListening();
  });
  afterAll(async () => {
    controller.abort();
    await running;
  });

  it('answers 503 on /healthz and /readyz while a target is not ready, naming it', async () => {
    const health = await get(server.port, '/healthz');
    expect(health.status).toBe(503);
    expect(JSON.parse(health.body)).toMatchObject({ pending: { 'grpc-server': 'starting' } });
    expect((await get(server.port, '/readyz')).status).toBe(503);
  });

  it('answers 200 once every target is ready', async () => {
    grpc.ready();
    expect((await get(server.port, '/healthz')).status).toBe(200);
    expect((await get(server.port, '/readyz')).status).toBe(200);
  });

  it('turns /readyz to 503 while draining, keeping /healthz as Dapr does', async () => {
    readiness.drain();
    expect((await get(server.port, '/readyz')).status).toBe(503);
    expect((await get(server.port, '/healthz')).status).toBe(200);
  });

  it('answers 404 on other paths', async () => {
    expect((await get(server.port, '/other')).status).toBe(404);
  });

  it('refuses to register a target twice', () => {
    expect(() => readiness.target('grpc-server')).toThrow('registered twice');
  });

  it('answers HEAD with the status alone, and ignores a query or a trailing slash', async () => {
    const head = await fetch(`http://127.0.0.1:${server.port}/healthz`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect((await get(server.port, '/healthz/?verbose=1')).status).toBe(200);
  });
});

describe('HealthServer with routes of its own', () => {
  it('serves them beside /healthz and /readyz, and 404 elsewhere', async () => {
    const readiness = new Readiness();
    const controller = new AbortController();
    const server = new HealthServer({
      port: 0,
      host: '127.0.0.1',
      readiness,
      logger: silentLogger(),
      routes: (app) => app.get('/placement/state', (_req, res) => void res.json({ leader: true })),
    });
    const running = server.run(controller.signal);
    await server.whenListening();
    try {
      expect(await get(server.port, '/placement/state')).toEqual({ status: 200, body: '{"leader":true}' });
      expect((await get(server.port, '/healthz')).status).toBe(200);
      expect((await get(server.port, '/other')).status).toBe(404);
    } finally {
      controller.abort();
      await running;
    }
  });
});

describe('MetricsServer', () => {
  it('serves the registry as Prometheus text on every path', async () => {
    const registry = createMetricsRegistry();
    const issued = new Counter({ name: 'dapr_sentry_cert_sign_success_total', help: 'issued', registers: [registry] });
    issued.inc(3);
    const controller = new AbortController();
    const server = new MetricsServer({ port: 0, host: '127.0.0.1', registry, logger: silentLogger() });
    const running = server.run(controller.signal);
    await server.whenListening();
    try {
      for (const path of ['/', '/metrics', '/anything']) {
        const { status, body } = await get(server.port, path);
        expect(status).toBe(200);
        expect(body).toMatch(/^dapr_sentry_cert_sign_success_total 3$/m);
        expect(body).toContain('process_resident_memory_bytes');
      }
    } finally {
      controller.abort();
      await running;
    }
  });
});
