// Admission throughput and latency over HTTPS (keep-alive) at several concurrency levels.
//   node bench/injector/run.mjs [--seconds 5] [--concurrency 1,16,64] [--mode injector|bare|canned] [--distinct]
// Modes: injector — the real webhook; bare — a bare node:https handler answering a tiny review (transport floor);
// canned — a bare handler answering the injector's real response, computed once (transport floor at the real size).
// Needs `npx tsc -b injector` first. The server runs in its own process; this process is the client (both share
// the machine's cores, as the API server and the injector would on a small node).
import { spawn } from 'node:child_process';
import https from 'node:https';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { reviewBody } from './review.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const seconds = Number(arg('seconds', '5'));
const levels = arg('concurrency', '1,16,64').split(',').map(Number);
const mode = arg('mode', 'injector');

const distinct = process.argv.includes('--distinct');
const uidText = '705ab4f5-6393-11e8-b7cc-42010a800002';
let counter = 0;
// Every request gets its own uid, as from the API server; with --distinct every pod differs too (a label value),
// so no two requests are answered alike (no replica cache hits).
function nextBody() {
  counter++;
  const uid = `${uidText.slice(0, -8)}${String(counter).padStart(8, '0')}`;
  const withUid = reviewBody.replace(uidText, uid);
  return distinct ? withUid.replace('"pod-template-hash":"7d4f8b9c5"', `"pod-template-hash":"h${counter}"`) : withUid;
}
const body = reviewBody;

const here = path.dirname(fileURLToPath(import.meta.url));
const server = spawn(process.execPath, [...(process.env.BENCH_PROFILE ? ["--cpu-prof", "--cpu-prof-dir=/tmp/injprof"] : []), path.join(here, "server.mjs"), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
const [line] = await once(server.stdout, 'data');
const port = Number(/listening (\d+)/.exec(line.toString())[1]);

function request(agent) {
  const body = nextBody();
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

async function level(concurrency) {
  const agent = new https.Agent({ keepAlive: true, maxSockets: concurrency });
  const warmUntil = performance.now() + 1000;
  const until = warmUntil + seconds * 1000;
  const latencies = [];
  const worker = async () => {
    while (performance.now() < until) {
      const ms = await request(agent);
      if (performance.now() > warmUntil) latencies.push(ms);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))].toFixed(3);
  return { concurrency, requests: latencies.length, perSecond: Math.round(latencies.length / seconds), p50: pct(50), p99: pct(99) };
}

console.log(`mode ${mode}${distinct ? ', every pod distinct' : ', replicas (identical pods)'} — ${seconds}s per level, HTTPS keep-alive, ${Buffer.byteLength(body)}-byte review`);
console.log('concurrency  reviews/s  p50 ms  p99 ms');
for (const c of levels) {
  const r = await level(c);
  console.log(`${String(r.concurrency).padStart(11)}  ${String(r.perSecond).padStart(9)}  ${r.p50.padStart(6)}  ${r.p99.padStart(6)}`);
}
server.kill('SIGTERM');
