// Sentry benchmark: certificates signed per second and p50/p99 latency over gRPC+TLS at several concurrency levels.
// Starts the real sentry binary (sentry/dist) self-hosted with a fresh trust bundle and the INSECURE validator (so
// the figure is the CA's own cost, not the Kubernetes API server's TokenReview), then drives it from this process.
//
//   npx tsc -b lib sentry
//   node bench/sentry/run.mjs --seconds 5 --concurrency 1,16,64 [--workers -1] [--connections 8] [--client grpc-js|h2]
//
// Clients: `grpc-js` is @grpc/grpc-js with tapr's SPIFFE-checking credentials (what tapr services use); `h2` sends
// the same gRPC requests (pre-framed protobuf, HTTP/2 over TLS, SPIFFE check of sentry) with node:http2 directly,
// so less of the shared CPU goes to the client. Every response is checked (grpc-status 0, a certificate chain).
//   node bench/sentry/run.mjs --mode crypto    # in-process: CSR verify + leaf signing only, no gRPC
//   BENCH_PROFILE=1 node bench/sentry/run.mjs ...   # also writes CPU profiles of sentry (all threads) to /tmp/sentryprof
import * as grpc from '@grpc/grpc-js';
import { spawn } from 'node:child_process';
import http2 from 'node:http2';
import net from 'node:net';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const require = createRequire(path.join(root, 'lib', 'package.json'));
const lib = await import(path.join(root, 'lib', 'dist', 'src', 'index.js'));
const { createCsr } = await import(path.join(root, 'lib', 'dist', 'src', 'security', 'sentryClient.js'));
const { protos, grpcClientCredentials, controlPlaneId } = lib;

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '1,16,64' },
    workers: { type: 'string', default: '-1' },
    connections: { type: 'string', default: '8' },
    csrs: { type: 'string', default: '256' },
    mode: { type: 'string', default: 'grpc' },
    client: { type: 'string', default: 'grpc-js' },
    // Another build of sentry to compare with, e.g. one checked out with `git worktree add`.
    sentry: { type: 'string', default: path.join(root, 'sentry', 'dist', 'src', 'main.js') },
    // The machine is shared: before each level, wait up to this many seconds for a second in which other processes
    // use less than a fifth of a core (0: do not wait). The table shows what others used while measuring anyway.
    'wait-quiet': { type: 'string', default: '0' },
  },
});
const seconds = Number(values.seconds);
const warmup = Number(values.warmup);
const levels = values.concurrency.split(',').map(Number);

console.log(`# node ${process.version}, ${availableParallelism()} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log(`# command: node bench/sentry/run.mjs ${process.argv.slice(2).join(' ')}`);

// Distinct CSRs (EC P-256, as daprd sends), reused round-robin; sentry verifies every one each time.
const csrs = await Promise.all(Array.from({ length: Number(values.csrs) }, async () => Buffer.from((await createCsr()).csrPem)));

if (values.mode === 'crypto') await cryptoOnly();
else await overGrpc();

async function overGrpc() {
  const dir = mkdtempSync(path.join(tmpdir(), 'sentry-bench-'));
  const [port, healthzPort] = await Promise.all([freePort(), freePort()]);
  const profile = process.env['BENCH_PROFILE'] ? ['--cpu-prof', '--cpu-prof-dir=/tmp/sentryprof'] : [];
  // Extra node flags for sentry, e.g. BENCH_NODE_ARGS=--perf-basic-prof to read its JIT frames with `perf`.
  profile.push(...(process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter(Boolean));
  const child = spawn(
    process.execPath,
    [...profile, values.sentry, `--issuer-credentials=${dir}`, '--config=', `--port=${port}`, '--listen-address=127.0.0.1',
      `--healthz-port=${healthzPort}`, '--healthz-listen-address=127.0.0.1', '--enable-metrics=false', `--signing-workers=${values.workers}`, '--log-level=warn'],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  try {
    await until(async () => (await fetch(`http://127.0.0.1:${healthzPort}/healthz`).catch(() => ({ status: 0 }))).status === 200);
    const anchors = readFileSync(path.join(dir, 'ca.crt'), 'utf8');
    const requests = csrs.map((csr, i) => {
      const request = new protos.sentry.SignCertificateRequest();
      request.setId(`app-${i}`);
      request.setNamespace('default');
      request.setCertificateSigningRequest(csr);
      return request;
    });
    const { connections, call } = values.client === 'h2' ? h2Client(port, anchors, requests) : grpcJsClient(port, anchors, requests);
    // Check one answer completely before measuring.
    const first = await call(connections[0]);
    const chain = values.client === 'h2' ? Buffer.from(protos.sentry.SignCertificateResponse.deserializeBinary(first.subarray(5)).getWorkloadCertificate_asU8()) : first;
    const leaf = new X509Certificate(chain.toString().slice(0, chain.toString().indexOf('-----END CERTIFICATE-----') + 25));
    if (!leaf.subjectAltName?.startsWith('URI:spiffe://public/ns/default/app-')) throw new Error(`unexpected certificate from sentry: ${leaf.subjectAltName}`);
    console.log('| concurrency | connections | certificates/s | p50 ms | p99 ms | sentry CPU µs/cert (main thread + other threads) | client CPU µs/cert | other processes, cores | load avg before |');
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const concurrency of levels) {
      const clients = Array.from({ length: concurrency }, (_, i) => connections[i % connections.length]);
      await waitQuiet(Number(values['wait-quiet']), [child.pid, process.pid]);
      await drive(clients, call, warmup);
      const load = loadavg()[0].toFixed(2);
      const machineBefore = machineBusySeconds();
      const serverBefore = cpuSecondsOf(child.pid);
      const mainBefore = cpuSecondsOf(child.pid, child.pid);
      const clientBefore = process.cpuUsage();
      const result = await drive(clients, call, seconds);
      const machineBusy = machineBusySeconds() - machineBefore;
      const serverCpu = cpuSecondsOf(child.pid) - serverBefore;
      const mainCpu = cpuSecondsOf(child.pid, child.pid) - mainBefore;
      const clientUsage = process.cpuUsage(clientBefore);
      const clientCpu = (clientUsage.user + clientUsage.system) / 1e6;
      const perCert = (cpu) => Math.round((cpu / result.count) * 1e6);
      // CPU that neither sentry nor this client used while measuring: other sessions' work on the shared machine.
      const others = Math.max(0, (machineBusy - serverCpu - clientCpu) / result.elapsed).toFixed(2);
      console.log(
        `| ${concurrency} | ${Math.min(concurrency, connections.length)} | ${Math.round(result.rate).toLocaleString('en')} | ${result.p50.toFixed(2)} | ${result.p99.toFixed(2)} | ${perCert(serverCpu)} (${perCert(mainCpu)} + ${perCert(serverCpu - mainCpu)}) | ${perCert(clientCpu)} | ${others} | ${load} |`,
      );
    }
    connections.forEach((c) => c.close());
  } finally {
    child.kill('SIGINT');
    await new Promise((resolve) => child.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}

function grpcJsClient(port, anchors, requests) {
  const connections = Array.from({ length: Number(values.connections) }, () => {
    const credentials = grpcClientCredentials({ trustAnchorsPem: () => anchors, serverId: controlPlaneId('sentry', 'localhost', 'default') });
    // Separate channels: distinct credentials objects do not share a connection.
    return new protos.sentryGrpc.CAClient(`127.0.0.1:${port}`, credentials, { 'grpc.use_local_subchannel_pool': 1 });
  });
  let next = 0;
  const call = (client) =>
    new Promise((resolve, reject) => {
      client.signCertificate(requests[next++ % requests.length], (error, response) => {
        if (error) return reject(error);
        const chain = response.getWorkloadCertificate_asU8();
        if (chain.length === 0 || !response.hasValidUntil()) return reject(new Error('incomplete response'));
        resolve(Buffer.from(chain));
      });
    });
  return { connections, call, close: () => connections.forEach((c) => c.close()) };
}

function h2Client(port, anchors, requests) {
  const expected = 'URI:spiffe://localhost/ns/default/dapr-sentry';
  const framed = requests.map((request) => {
    const body = Buffer.from(request.serializeBinary());
    const frame = Buffer.alloc(5 + body.length);
    frame.writeUInt32BE(body.length, 1);
    body.copy(frame, 5);
    return frame;
  });
  const connections = Array.from({ length: Number(values.connections) }, () =>
    http2.connect(`https://127.0.0.1:${port}`, {
      ca: anchors,
      servername: 'sentry',
      checkServerIdentity: (_host, cert) => (cert.subjectaltname === expected ? undefined : new Error(`server is ${cert.subjectaltname}`)),
    }),
  );
  const headers = { ':method': 'POST', ':path': '/dapr.proto.sentry.v1.CA/SignCertificate', 'content-type': 'application/grpc', te: 'trailers' };
  let next = 0;
  const call = (session) =>
    new Promise((resolve, reject) => {
      const stream = session.request(headers, { endStream: false });
      const chunks = [];
      let status;
      stream.on('response', (h) => (status = h['grpc-status']));
      stream.on('trailers', (t) => (status = t['grpc-status'] ?? status));
      stream.on('data', (chunk) => chunks.push(chunk));
      stream.on('error', reject);
      stream.on('end', () => {
        const body = Buffer.concat(chunks);
        if (status !== '0') return reject(new Error(`grpc-status ${status}`));
        if (body.length < 5 || body.readUInt32BE(1) !== body.length - 5) return reject(new Error('malformed gRPC response frame'));
        resolve(body);
      });
      stream.end(framed[next++ % framed.length]);
    });
  return { connections, call, close: () => connections.forEach((c) => c.close()) };
}

/** Keeps `clients.length` calls outstanding for `forSeconds`; returns rate and latency percentiles. */
async function drive(clients, call, forSeconds) {
  const latencies = [];
  const end = performance.now() + forSeconds * 1000;
  let errors = 0;
  const started = performance.now();
  await Promise.all(
    clients.map(async (client) => {
      while (performance.now() < end) {
        const t = performance.now();
        try {
          await call(client);
          latencies.push(performance.now() - t);
        } catch (error) {
          if (++errors < 3) console.error(`call failed: ${error.message}`);
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { rate: latencies.length / elapsed, count: latencies.length, elapsed, p50: at(0.5), p99: at(0.99), errors };
}

async function cryptoOnly() {
  const { InlineSigner } = await import(path.join(root, 'sentry', 'dist', 'src', 'signing', 'signer.js'));
  const { WorkerPoolSigner } = await import(path.join(root, 'sentry', 'dist', 'src', 'signing', 'workerPoolSigner.js'));
  const { generateBundle } = await import(path.join(root, 'sentry', 'dist', 'src', 'ca', 'rotationSteps.js'));
  const material = await generateBundle({ trustDomain: 'localhost', namespace: 'default', now: new Date(), policy: { rootTtlMs: 3.6e6, issuerTtlMs: 3.6e6, allowedClockSkewMs: 0, workloadCertTtlMs: 3.6e6, pollIntervalMs: 1000 } });
  const issuer = { generation: 1, certDer: new X509Certificate(material.issuerChain).raw, keyPem: material.issuerKey };
  const job = (i) => ({ csr: csrs[i % csrs.length], uri: `spiffe://public/ns/default/app-${i}`, dnsNames: [], notBefore: new Date(), notAfter: new Date(Date.now() + 3.6e6) });
  console.log('| signer | certificates/s | CPU µs/cert (all threads) |');
  console.log('|---|---|---|');
  for (const [name, signer, inFlight] of [
    ['main thread', new InlineSigner(), 1],
    ['2 workers', new WorkerPoolSigner({ size: 2, logger: lib.silentLogger() }), 256],
  ]) {
    let i = 0;
    const run = async (forSeconds) => {
      const end = performance.now() + forSeconds * 1000;
      let done = 0;
      const started = performance.now();
      await Promise.all(Array.from({ length: inFlight }, async () => {
        while (performance.now() < end) {
          await signer.sign(job(i++), issuer);
          done++;
        }
      }));
      return done / ((performance.now() - started) / 1000);
    };
    await run(warmup);
    const before = cpuSecondsOf(process.pid);
    const started = i;
    const rate = await run(seconds);
    const cpu = cpuSecondsOf(process.pid) - before;
    console.log(`| ${name} | ${Math.round(rate).toLocaleString('en')} | ${Math.round((cpu / (i - started)) * 1e6)} |`);
    await signer.close();
  }
}

/** Waits (at most `forSeconds`) for a second in which processes other than `ours` use under 0.2 cores. */
async function waitQuiet(forSeconds, ours) {
  const deadline = Date.now() + forSeconds * 1000;
  while (Date.now() < deadline) {
    const busy = machineBusySeconds();
    const mine = ours.reduce((sum, pid) => sum + cpuSecondsOf(pid), 0);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const others = machineBusySeconds() - busy - (ours.reduce((sum, pid) => sum + cpuSecondsOf(pid), 0) - mine);
    if (others < 0.2) return;
  }
}

/** CPU seconds all cores spent busy since boot (everything but idle and iowait), from /proc/stat. */
function machineBusySeconds() {
  const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq + steal) / 100;
}

/** User + system CPU seconds of a process (all its threads), or of one of its threads, from /proc. */
function cpuSecondsOf(pid, tid) {
  const file = tid ? `/proc/${pid}/task/${tid}/stat` : `/proc/${pid}/stat`;
  const fields = readFileSync(file, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function until(probe) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('sentry did not become healthy');
}
