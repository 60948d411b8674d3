// Admission throughput and latency over HTTPS (keep-alive) at several concurrency levels, with the transport
// floor measured in the same run.
//   node bench/injector/run.mjs [--seconds 5] [--concurrency 1,16,64] [--mode injector,canned,bare]
//                               [--workload replicas,pods,apps] [--distinct]
// Modes: injector — the real webhook (WebhookServer + Admission); canned — a bare node:https handler answering
// the injector's real response, computed once (the transport floor at the real sizes); bare — the same handler
// answering a tiny review. Workloads (review.mjs): replicas — identical pods, answers reused; pods — every pod
// different, same app (answers built each time); apps — every pod a different app (every daprd differs).
// --distinct is short for --workload pods. The floors do not depend on the workload and run once.
// Needs `npx tsc -b lib injector` first. Each server runs in its own process; this process is the client (both
// share the machine's cores, as the API server and the injector would on a small node).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { requestBody, reviewBody } from './review.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const seconds = Number(arg('seconds', '5'));
const levels = arg('concurrency', '1,16,64').split(',').map(Number);
const modes = arg('mode', 'injector').split(',');
const workloads = arg('workload', process.argv.includes('--distinct') ? 'pods' : 'replicas').split(',');
const here = path.dirname(fileURLToPath(import.meta.url));

async function startServer(mode) {
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/injprof'] : [];
  const server = spawn(process.execPath, [...profile, path.join(here, 'server.mjs'), mode], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const [line] = await once(server.stdout, 'data');
  const port = Number(/listening (\d+)/.exec(line.toString())?.[1]);
  if (!port) throw new Error(`the bench server did not start: ${line}`);
  return { server, port };
}

// The server's CPU and GC time so far (over IPC): its cost per review does not depend on how busy the machine is.
async function serverStats(server) {
  server.send('stats');
  const [stats] = await once(server, 'message');
  return stats;
}
function clientCpuSeconds() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

function post(port, agent, body) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = https.request(
      { host: '127.0.0.1', port, path: '/mutate', method: 'POST', agent, rejectUnauthorized: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let size = 0;
        res.on('data', (c) => (size += c.length));
        res.on('end', () => (res.statusCode === 200 && size > 0 ? resolve(performance.now() - started) : reject(new Error(`status ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

let counter = 0;
async function level({ server, port }, workload, concurrency) {
  const agent = new https.Agent({ keepAlive: true, maxSockets: concurrency });
  const warmUntil = performance.now() + 1000;
  const until = warmUntil + seconds * 1000;
  const latencies = [];
  let atWarm;
  const warm = new Promise((resolve) => setTimeout(resolve, 1000)).then(async () => {
    atWarm = { server: await serverStats(server), client: clientCpuSeconds() };
  });
  const worker = async () => {
    while (performance.now() < until) {
      const ms = await post(port, agent, requestBody(workload, counter++));
      if (performance.now() > warmUntil) latencies.push(ms);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  await warm;
  const end = await serverStats(server);
  const clientEnd = clientCpuSeconds();
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))].toFixed(2);
  const per = (seconds) => ((seconds * 1e6) / latencies.length).toFixed(0);
  return {
    perSecond: Math.round(latencies.length / seconds),
    p50: pct(50),
    p99: pct(99),
    serverUs: per(end.cpuSeconds - atWarm.server.cpuSeconds),
    answerUs: end.answerMs === undefined ? '-' : per((end.answerMs - atWarm.server.answerMs) / 1000),
    gcUs: per((end.gcMs - atWarm.server.gcMs) / 1000),
    clientUs: per(clientEnd - atWarm.client),
    load: readFileSync('/proc/loadavg', 'utf8').split(' ', 1)[0],
  };
}

const columns = ['mode', 'workload', 'clients', 'reviews/s', 'p50 ms', 'p99 ms', 'server µs/review', 'answering', 'GC', 'client µs/review', 'load avg'];
const widths = [8, 8, 7, 9, 6, 6, 16, 9, 4, 16, 8];
const row = (cells) => cells.map((cell, i) => String(cell).padStart(widths[i])).join('  ');
console.log(`${seconds}s per line after 1s of warm-up, HTTPS keep-alive, ${Buffer.byteLength(reviewBody)}-byte review`);
console.log(row(columns));
for (const mode of modes) {
  for (const workload of mode === 'injector' ? workloads : ['-']) {
    const started = await startServer(mode);
    try {
      for (const concurrency of levels) {
        const r = await level(started, workload === '-' ? 'replicas' : workload, concurrency);
        console.log(row([mode, workload, concurrency, r.perSecond, r.p50, r.p99, r.serverUs, r.answerUs, r.gcUs, r.clientUs, r.load]));
      }
    } finally {
      started.server.kill('SIGTERM');
      await once(started.server, 'exit');
    }
  }
}
