// Sentry benchmark: certificates signed per second and p50/p99 latency over gRPC+TLS at several concurrency levels.
// Starts the real sentry binary (sentry/dist) self-hosted with a fresh trust bundle and the INSECURE validator (so
// the figure is the CA's own cost, not the Kubernetes API server's TokenReview), then drives it from this process.
//
//   npx tsc -b lib sentry
//   node bench/sentry/run.mjs --seconds 5 --concurrency 1,16,64 [--workers -1] [--connections 8]
//   node bench/sentry/run.mjs --mode crypto    # in-process: CSR verify + leaf signing only, no gRPC
//   BENCH_PROFILE=1 node bench/sentry/run.mjs ...   # also writes CPU profiles of sentry (all threads) to /tmp/sentryprof
import * as grpc from '@grpc/grpc-js';
import { spawn } from 'node:child_process';
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
  const port = 40000 + Math.floor(Math.random() * 10000);
  const profile = process.env['BENCH_PROFILE'] ? ['--cpu-prof', '--cpu-prof-dir=/tmp/sentryprof'] : [];
  const child = spawn(
    process.execPath,
    [...profile, path.join(root, 'sentry', 'dist', 'src', 'main.js'), `--issuer-credentials=${dir}`, '--config=', `--port=${port}`, '--listen-address=127.0.0.1',
      `--healthz-port=${port + 1}`, '--healthz-listen-address=127.0.0.1', '--enable-metrics=false', `--signing-workers=${values.workers}`, '--log-level=warn'],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  try {
    await until(async () => (await fetch(`http://127.0.0.1:${port + 1}/healthz`).catch(() => ({ status: 0 }))).status === 200);
    const anchors = readFileSync(path.join(dir, 'ca.crt'), 'utf8');
    const connections = Array.from({ length: Number(values.connections) }, () => {
      const credentials = grpcClientCredentials({ trustAnchorsPem: () => anchors, serverId: controlPlaneId('sentry', 'localhost', 'default') });
      // Separate channels: distinct credentials objects do not share a connection.
      return new protos.sentryGrpc.CAClient(`127.0.0.1:${port}`, credentials, { 'grpc.use_local_subchannel_pool': 1 });
    });
    // Requests are built and serialised once: the client's cost stays small next to the server's.
    const requests = csrs.map((csr, i) => {
      const request = new protos.sentry.SignCertificateRequest();
      request.setId(`app-${i}`);
      request.setNamespace('default');
      request.setCertificateSigningRequest(csr);
      return request;
    });
    let next = 0;
    const call = (client) =>
      new Promise((resolve, reject) => {
        const request = requests[next++ % requests.length];
        client.signCertificate(request, (error, response) => (error ? reject(error) : resolve(response)));
      });
    console.log('| concurrency | connections | certificates/s | p50 ms | p99 ms | sentry CPU µs/cert | client CPU µs/cert |');
    console.log('|---|---|---|---|---|---|---|');
    for (const concurrency of levels) {
      const clients = Array.from({ length: concurrency }, (_, i) => connections[i % connections.length]);
      await drive(clients, call, warmup);
      const serverBefore = cpuSecondsOf(child.pid);
      const clientBefore = process.cpuUsage();
      const result = await drive(clients, call, seconds);
      const serverCpu = cpuSecondsOf(child.pid) - serverBefore;
      const clientUsage = process.cpuUsage(clientBefore);
      const clientCpu = (clientUsage.user + clientUsage.system) / 1e6;
      const perCert = (cpu) => Math.round((cpu / result.count) * 1e6);
      console.log(
        `| ${concurrency} | ${Math.min(concurrency, connections.length)} | ${Math.round(result.rate).toLocaleString('en')} | ${result.p50.toFixed(2)} | ${result.p99.toFixed(2)} | ${perCert(serverCpu)} | ${perCert(clientCpu)} |`,
      );
    }
    connections.forEach((c) => c.close());
  } finally {
    child.kill('SIGINT');
    await new Promise((resolve) => child.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  }
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
  return { rate: latencies.length / elapsed, count: latencies.length, p50: at(0.5), p99: at(0.99), errors };
}

async function cryptoOnly() {
  const { InlineSigner } = await import(path.join(root, 'sentry', 'dist', 'src', 'signing', 'signer.js'));
  const { WorkerPoolSigner } = await import(path.join(root, 'sentry', 'dist', 'src', 'signing', 'workerPoolSigner.js'));
  const { generateBundle } = await import(path.join(root, 'sentry', 'dist', 'src', 'ca', 'rotationSteps.js'));
  const { X509Certificate } = await import('node:crypto');
  const material = await generateBundle({ trustDomain: 'localhost', namespace: 'default', now: new Date(), policy: { rootTtlMs: 3.6e6, issuerTtlMs: 3.6e6, allowedClockSkewMs: 0, workloadCertTtlMs: 3.6e6, pollIntervalMs: 1000 } });
  const issuer = { generation: 1, certDer: new X509Certificate(material.issuerChain).raw, keyPem: material.issuerKey };
  const job = (i) => ({ csr: csrs[i % csrs.length], uri: `spiffe://public/ns/default/app-${i}`, dnsNames: [], notBefore: new Date(), notAfter: new Date(Date.now() + 3.6e6) });
  console.log('| signer | certificates/s |');
  console.log('|---|---|');
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
    console.log(`| ${name} | ${Math.round(await run(seconds)).toLocaleString('en')} |`);
    await signer.close();
  }
}

/** User + system CPU seconds of a process (all its threads), from /proc. */
function cpuSecondsOf(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function until(probe) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('sentry did not become healthy');
}
