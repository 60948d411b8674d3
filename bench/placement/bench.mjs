// Placement benchmark: the built placement binary against thousands of simulated sidecars (sidecars.mjs).
//
//   npx tsc -b placement && node bench/placement/bench.mjs disseminate 100,1000,5000
//   node bench/placement/bench.mjs churn 1000
//
// disseminate N: N actor hosts connected and settled; one more host joins; time until all N+1 hold the new table
//   (client clocks), the server's round time (lock → last unlock ack), server memory per connected host.
// churn N: N hosts settled; a rolling wave restarts 10% of them (one every 20 ms; each replacement connects 100 ms
//   after its old stream closed); rounds started, total time tables were locked, time until every host holds
//   the same final table. Run once with tapr's batching defaults and once with batching off (a round per change,
//   Dapr 1.17's scheduling).
import { spawn, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const binary = path.resolve(here, '../../placement/dist/src/main.js');
// TLS=1: the service with mTLS (tlsServer.mjs: the same service, its SVID from a test CA); the sidecars present
// client certificates. CLIENT=grpc-js: the simulated sidecars on grpc-js instead of node:http2 (slower; see
// sidecars.mjs). DECODE=1: every simulated sidecar also decodes every table it receives.
const tls = process.env.TLS === '1';
const client = process.env.CLIENT ?? 'http2';
if (tls && client === 'grpc-js') throw new Error('TLS=1 needs the node:http2 sidecars (CLIENT unset)');
const [scenario = 'disseminate', sizesText = '100,1000,5000'] = process.argv.slice(2);
const sizes = sizesText.split(',').map(Number);
const workers = Number(process.env.WORKERS ?? 2);
// Extra node arguments for the server and the workers (e.g. `--import <preload>` to profile them; PROFILE=1 sends
// both SIGUSR2 around the measured changes).
const serverNodeArgs = (process.env.SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
// Extra placement flags, e.g. PLACEMENT_FLAGS=--table-host-fields=routing.
const placementFlags = (process.env.PLACEMENT_FLAGS ?? '').split(' ').filter(Boolean);
const workerNodeArgs = (process.env.WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean);
const connectionsPerWorker = Number(process.env.CONNECTIONS ?? 16);

const nowNs = () => Number(process.hrtime.bigint());
// Children die with the bench, even when it fails.
const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});
const ms = (ns) => Math.round(ns / 1e5) / 10;
const sleep = (t) => new Promise((resolve) => setTimeout(resolve, t));

function freePort() {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitFor(probe, what, timeoutMs = 120_000, describe = undefined) {
  const deadline = Date.now() + timeoutMs;
  let nextReport = Date.now() + 5000;
  for (;;) {
    if (describe && process.env.BENCH_DEBUG && Date.now() > nextReport) {
      nextReport = Date.now() + 5000;
      console.error(`waiting for ${what}: ${describe()}`);
    }
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function startPlacement(extraFlags) {
  const [port, healthz, metrics] = await Promise.all([freePort(), freePort(), freePort()]);
  const tlsDir = tls ? mkdtempSync(path.join(tmpdir(), 'placement-bench-tls-')) : undefined;
  const child = spawn(
    process.execPath,
    [...serverNodeArgs, tls ? path.join(here, 'tlsServer.mjs') : binary, `--port=${port}`, '--listen-address=127.0.0.1', `--healthz-port=${healthz}`, `--metrics-port=${metrics}`, '--log-level=warn', '--settle-quiet-period=100ms', ...extraFlags, ...placementFlags],
    { stdio: ['ignore', 'inherit', 'inherit'], env: { NAMESPACE: 'default', ...(tlsDir ? { TLS_DIR: tlsDir } : {}) } },
  );
  children.add(child);
  await waitFor(async () => (await fetch(`http://127.0.0.1:${healthz}/healthz`).catch(() => undefined))?.status === 200, 'placement to be healthy');
  const scrape = async () => {
    const text = await fetch(`http://127.0.0.1:${metrics}/metrics`).then((r) => r.text());
    const sum = (name) =>
      text
        .split('\n')
        .filter((line) => line.startsWith(name) && !line.startsWith('#'))
        .reduce((total, line) => total + Number(line.split(' ').at(-1)), 0);
    return {
      rssBytes: sum('process_resident_memory_bytes'),
      cpuSeconds: sum('process_cpu_seconds_total'),
      heapBytes: sum('nodejs_heap_size_used_bytes'),
      rounds: sum('dapr_placement_disseminations_total'),
      lockedSeconds: sum('dapr_placement_table_locked_seconds_total'),
      roundSecondsSum: sum('dapr_placement_dissemination_duration_seconds_sum'),
      roundCount: sum('dapr_placement_dissemination_duration_seconds_count'),
      actorHosts: sum('dapr_placement_actor_runtimes_total'),
    };
  };
  const stop = async () => {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    if (tlsDir) rmSync(tlsDir, { recursive: true, force: true });
  };
  return { address: `127.0.0.1:${port}`, tlsDir, scrape, stop, signal: (name) => child.kill(name) };
}

/** Worker processes and what every simulated host currently holds (and has received). */
async function startFleet(placement) {
  const held = new Map(); // idx → { version, tableBytes, at } of the last unlock
  const received = new Map(); // idx → { version, tableBytes, at } of the last whole update frame
  const decoded = new Map(); // idx → { version, at } of the last table decoded (DECODE=1)
  const live = new Set();
  const procs = [];
  const statsWaiters = [];
  for (let w = 0; w < workers; w++) {
    const worker = fork(path.join(here, client === 'grpc-js' ? 'sidecarsGrpcJs.mjs' : 'sidecars.mjs'), [], {
      env: {
        ...process.env,
        PLACEMENT_ADDRESS: placement.address,
        CONNECTIONS: String(connectionsPerWorker),
        ...(placement.tlsDir ? { TLS_DIR: placement.tlsDir } : {}),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: workerNodeArgs,
    });
    children.add(worker);
    worker.on('message', (message) => {
      if (message.type === 'stats') statsWaiters.shift()?.(message);
      if (message.type !== 'events') return;
      for (const [idx, kind, version, tableBytes, at] of message.events) {
        if (kind === 'u') held.set(idx, { version, tableBytes: received.get(idx)?.tableBytes ?? tableBytes, at });
        else if (kind === 'r') received.set(idx, { version, tableBytes, at });
        else if (kind === 'd') decoded.set(idx, { version, at });
        else {
          held.delete(idx);
          received.delete(idx);
          decoded.delete(idx);
        }
      }
    });
    await new Promise((resolve) => worker.once('message', resolve));
    procs.push(worker);
  }
  const name = (idx) => `10.${(idx >> 16) & 255}.${(idx >> 8) & 255}.${idx & 255}:50002`;
  return {
    held,
    received,
    live,
    /** When every live host had received (or decoded) the update of `version`; undefined if some did not. */
    allReceivedAt(version, which = received) {
      let at = 0;
      for (const idx of live) {
        const r = which.get(idx);
        if (!r || r.version < version) return undefined;
        at = Math.max(at, r.at);
      }
      return at;
    },
    allDecodedAt(version) {
      return this.allReceivedAt(version, decoded);
    },
    /** CPU seconds used by all workers so far, and the tables they decoded (DECODE=1). */
    async stats() {
      const all = [];
      for (const worker of procs) {
        all.push(new Promise((resolve) => statsWaiters.push(resolve)));
        worker.send({ cmd: 'stats' });
      }
      const results = await Promise.all(all);
      return {
        cpuSeconds: results.reduce((sum, r) => sum + (r.cpu ? (r.cpu.user + r.cpu.system) / 1e6 : 0), 0),
        decodedTables: results.reduce((sum, r) => sum + (r.decodedTables ?? 0), 0),
        decodeMs: results.reduce((sum, r) => sum + (r.decodeMs ?? 0), 0),
        lastDecoded: results.find((r) => r.lastDecoded)?.lastDecoded,
      };
    },
    open(idxs) {
      for (let w = 0; w < workers; w++) {
        const hosts = idxs.filter((idx) => idx % workers === w).map((idx) => ({ idx, name: name(idx), entities: ['counter'] }));
        if (hosts.length) procs[w].send({ cmd: 'open', hosts });
      }
      for (const idx of idxs) live.add(idx);
    },
    close(idxs) {
      for (let w = 0; w < workers; w++) {
        const mine = idxs.filter((idx) => idx % workers === w);
        if (mine.length) procs[w].send({ cmd: 'close', idxs: mine });
      }
      for (const idx of idxs) {
        live.delete(idx);
        held.delete(idx);
        received.delete(idx);
        decoded.delete(idx);
      }
    },
    /** The version every live host holds, if they all hold the same one. */
    agreed() {
      let version;
      for (const idx of live) {
        const h = held.get(idx);
        if (!h || (version !== undefined && h.version !== version)) return undefined;
        version = h.version;
      }
      return version;
    },
    signal(name) {
      for (const worker of procs) worker.kill(name);
    },
    async stop() {
      for (const worker of procs) worker.send({ cmd: 'stop' });
      await Promise.all(procs.map((worker) => new Promise((resolve) => worker.once('exit', resolve))));
    },
  };
}

/** Waits until every live host holds the same version, newer than `after`, and it stays so for `quietMs`. */
async function converge(fleet, placement, after, quietMs = 1000) {
  for (;;) {
    const version = await waitFor(() => {
      const v = fleet.agreed();
      return v !== undefined && v > after ? v : undefined;
    }, 'all hosts to agree on a table', 120_000, () => {
      const versions = new Map();
      for (const idx of fleet.live) {
        const v = fleet.held.get(idx)?.version ?? 'none';
        versions.set(v, (versions.get(v) ?? 0) + 1);
      }
      return JSON.stringify([...versions]);
    });
    const at = Math.max(...[...fleet.live].map((idx) => fleet.held.get(idx).at));
    await sleep(quietMs);
    const metrics = await placement.scrape();
    if (fleet.agreed() === version && metrics.actorHosts === fleet.live.size) return { version, at };
  }
}

async function disseminate(n) {
  const placement = await startPlacement(['--dissemination-batch-quiet-period=0', '--dissemination-batch-max-delay=0']);
  const baseline = await placement.scrape();
  const fleet = await startFleet(placement);
  const t0 = nowNs();
  fleet.open(Array.from({ length: n }, (_, i) => i));
  let { version } = await converge(fleet, placement, -1);
  const connectMs = ms(nowNs() - t0);
  await sleep(500);
  const settled = await placement.scrape();
  const tableBytes = fleet.held.get(0).tableBytes;

  const trials = [];
  // PROFILE=server,clients: SIGUSR2 to those processes (started with a preload that handles it, see SERVER_NODE_ARGS).
  const profiled = (process.env.PROFILE ?? '').split(',');
  const profile = n === sizes.at(-1) ? () => (profiled.includes('server') && placement.signal('SIGUSR2'), profiled.includes('clients') && fleet.signal('SIGUSR2')) : () => undefined;
  profile();
  for (let trial = 0; trial < 3; trial++) {
    const before = await placement.scrape();
    const clientsBefore = await fleet.stats();
    const started = nowNs();
    if (trial % 2 === 0) fleet.open([n]);
    else fleet.close([n]);
    const result = await converge(fleet, placement, version, 300);
    version = result.version;
    const receivedAt = fleet.allReceivedAt(version);
    const decodedAt = fleet.allDecodedAt(version);
    const after = await placement.scrape();
    const clientsAfter = await fleet.stats();
    trials.push({
      serverCpuMs: Math.round((after.cpuSeconds - before.cpuSeconds) * 1000),
      clientsCpuMs: Math.round((clientsAfter.cpuSeconds - clientsBefore.cpuSeconds) * 1000),
      allReceivedMs: receivedAt === undefined ? null : ms(receivedAt - started),
      ...(decodedAt === undefined ? {} : { allDecodedMs: ms(decodedAt - started) }),
      allHoldMs: ms(result.at - started),
      ...(clientsAfter.decodedTables > clientsBefore.decodedTables
        ? { decodeMsPerTable: Math.round(((clientsAfter.decodeMs - clientsBefore.decodeMs) / (clientsAfter.decodedTables - clientsBefore.decodedTables)) * 1000) / 1000 }
        : {}),
      roundMs: Math.round(((after.roundSecondsSum - before.roundSecondsSum) / Math.max(1, after.roundCount - before.roundCount)) * 10000) / 10,
      rounds: after.rounds - before.rounds,
    });
  }
  profile();
  const decoded = (await fleet.stats()).lastDecoded;
  if (process.env.PROFILE) await sleep(1000);
  await fleet.stop();
  await placement.stop();
  const median = (key) => trials.map((t) => t[key]).sort((a, b) => a - b)[1];
  return {
    hosts: n,
    client,
    tls,
    ...(placementFlags.length ? { placementFlags: placementFlags.join(' ') } : {}),
    tableKiB: Math.round(tableBytes / 102.4) / 10,
    initialConnectAndSettleMs: connectMs,
    changeToAllReceivedMs: trials.some((t) => t.allReceivedMs === null) ? null : median('allReceivedMs'),
    ...(trials.every((t) => t.allDecodedMs !== undefined) ? { changeToAllDecodedMs: median('allDecodedMs') } : {}),
    changeToAllHoldMs: median('allHoldMs'),
    serverRoundMs: median('roundMs'),
    serverCpuMsPerChange: median('serverCpuMs'),
    clientsCpuMsPerChange: median('clientsCpuMs'),
    ...(decoded ? { decodeMsPerTable: median('decodeMsPerTable'), lastDecoded: decoded } : {}),
    trials,
    rssPerHostKiB: Math.round(((settled.rssBytes - baseline.rssBytes) / n / 1024) * 10) / 10,
    heapPerHostKiB: Math.round(((settled.heapBytes - baseline.heapBytes) / n / 1024) * 10) / 10,
    serverRssMiB: Math.round(settled.rssBytes / 1048576),
  };
}

async function churn(n, variant) {
  const flags = variant === 'immediate' ? ['--dissemination-batch-quiet-period=0', '--dissemination-batch-max-delay=0'] : [];
  const placement = await startPlacement(flags);
  const fleet = await startFleet(placement);
  fleet.open(Array.from({ length: n }, (_, i) => i));
  const { version } = await converge(fleet, placement, -1);
  await sleep(500);
  const before = await placement.scrape();

  const restarts = Math.round(n / 10);
  const started = nowNs();
  for (let i = 0; i < restarts; i++) {
    fleet.close([i]);
    setTimeout(() => fleet.open([n + i]), 100);
    await sleep(20);
  }
  await sleep(150);
  const waveEnd = nowNs();
  const result = await converge(fleet, placement, version, 2500);
  const after = await placement.scrape();
  await fleet.stop();
  await placement.stop();
  return {
    hosts: n,
    variant,
    restarted: restarts,
    waveMs: ms(waveEnd - started),
    rounds: after.rounds - before.rounds,
    lockedMs: Math.round((after.lockedSeconds - before.lockedSeconds) * 1000),
    serverCpuMs: Math.round((after.cpuSeconds - before.cpuSeconds) * 1000),
    allHoldSameTableMs: ms(result.at - started),
    afterWaveEndMs: ms(Math.max(0, result.at - waveEnd)),
  };
}

process.on('unhandledRejection', (error) => {
  console.error(error);
  process.exit(1);
});
const results = [];
if (scenario === 'disseminate') for (const n of sizes) results.push(await disseminate(n));
else if (scenario === 'churn') for (const n of sizes) for (const variant of ['tapr', 'immediate']) results.push(await churn(n, variant));
else throw new Error(`unknown scenario ${scenario}: use disseminate or churn`);
for (const result of results) console.log(JSON.stringify(result));
