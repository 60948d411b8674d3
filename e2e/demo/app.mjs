// The demo's app, run as the app container of an annotated pod (plain Node, no dependencies). It talks to Dapr only
// through its sidecar, at the port the injector put into DAPR_HTTP_PORT:
//   DEMO_ROLE=backend   answers POST /hello with a greeting;
//   DEMO_ROLE=frontend  every few seconds saves a visit counter in the `statestore` Component, reads it back, and
//                       calls the backend by its app id; GET /last shows the latest round.
import http from 'node:http';

const port = Number(process.env.APP_PORT ?? '8080');
const sidecar = `http://127.0.0.1:${process.env.DAPR_HTTP_PORT ?? '3500'}`;
const role = process.env.DEMO_ROLE ?? 'backend';
const backend = process.env.DEMO_BACKEND_APP_ID ?? 'demo-backend';
let last = { round: 0 };

const log = (fields) => console.log(JSON.stringify({ time: new Date().toISOString(), role, ...fields }));

async function round() {
  const visits = last.round + 1;
  const saved = await fetch(`${sidecar}/v1.0/state/statestore`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([{ key: 'visits', value: { visits, by: role } }]),
  });
  const read = await fetch(`${sidecar}/v1.0/state/statestore/visits`);
  const value = read.status === 200 ? await read.json() : null;
  const called = await fetch(`${sidecar}/v1.0/invoke/${backend}/method/hello`, { method: 'POST', body: `visit ${visits}` });
  const reply = called.status === 200 ? await called.json() : await called.text();
  last = { round: visits, saveStatus: saved.status, readStatus: read.status, etag: read.headers.get('etag'), value, callStatus: called.status, reply };
  log(last);
}

async function loop() {
  // The sidecar is up once its health endpoint answers 204 (what the readiness probe asks).
  for (;;) {
    const health = await fetch(`${sidecar}/v1.0/healthz`).catch(() => undefined);
    if (health?.status === 204) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  for (;;) {
    await round().catch((error) => log({ error: String(error) }));
    await new Promise((resolve) => setTimeout(resolve, 3000));
  }
}

const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/hello') {
      res.end(JSON.stringify({ greeting: `hello from ${role}`, youSaid: body, caller: req.headers['dapr-caller-app-id'] ?? null }));
    } else if (req.url === '/last') {
      res.end(JSON.stringify(last));
    } else {
      res.end('{}');
    }
  });
});
server.listen(port, '127.0.0.1', () => {
  log({ listening: port });
  if (role === 'frontend') void loop();
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
