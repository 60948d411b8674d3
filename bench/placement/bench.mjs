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
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const binary = path.resolve(here, '../../placement/dist/src/main.js');
const [scenario = 'disseminate', sizesText = '100,1000,5000'] = process.argv.slice(2);
const sizes = sizesText.split(',').map(Number);
const workers = Number(process.env.WORKERS ?? 2);
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
  const child = spawn(
    process.execPath,
    [binary, `--port=${port}`, '--listen-address=127.0.0.1', `--healthz-port=${healthz}`, `--metrics-port=${metrics}`, '--log-level=warn', '--settle-quiet-period=100ms', ...extraFlags],
    { stdio: ['ignore', 'inherit', 'inherit'], env: { NAMESPACE: 'default' } },
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
  };
  return { address: `127.0.0.1:${port}`, scrape, stop };
}

/** Worker processes and what every simulated host currently holds. */
async function startFleet(address) {
  const held = new Map(); // idx → { version, tableBytes, at }
  const live = new Set();
  const procs = [];
  for (let w = 0; w < workers; w++) {
    const worker = fork(path.join(here, 'sidecars.mjs'), [], {
      env: { ...process.env, PLACEMENT_ADDRESS: address, CONNECTIONS: String(connectionsPerWorker) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.add(worker);
    worker.on('message', (message) => {
      if (message.type !== 'events') return;
      for (const [idx, kind, version, tableBytes, at] of message.events) {
        if (kind === 'u') held.set(idx, { version, tableBytes, at });
        else held.delete(idx);
      }
    });
    await new Promise((resolve) => worker.once('message', resolve));
    procs.push(worker);
  }
  const name = (idx) => `10.${(idx >> 16) & 255}.${(idx >> 8) & 255}.${idx & 255}:50002`;
  return {
    held,
    live,
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
  const fleet = await startFleet(placement.address);
  const t0 = nowNs();
  fleet.open(Array.from({ length: n }, (_, i) => i));
  let { version } = await converge(fleet, placement, -1);
  const connectMs = ms(nowNs() - t0);
  await sleep(500);
  const settled = await placement.scrape();
  const tableBytes = fleet.held.get(0).tableBytes;

  const trials = [];
  for (let trial = 0; trial < 3; trial++) {
    const before = await placement.scrape();
    const started = nowNs();
    if (trial % 2 === 0) fleet.open([n]);
    else fleet.close([n]);
    const result = await converge(fleet, placement, version, 300);
    version = result.version;
    const after = await placement.scrape();
    trials.push({
      serverCpuMs: Math.round((after.cpuSeconds - before.cpuSeconds) * 1000),
      allHoldMs: ms(result.at - started),
      roundMs: Math.round(((after.roundSecondsSum - before.roundSecondsSum) / Math.max(1, after.roundCount - before.roundCount)) * 10000) / 10,
      rounds: after.rounds - before.rounds,
    });
  }
  await fleet.stop();
  await placement.stop();
  const median = (key) => trials.map((t) => t[key]).sort((a, b) => a - b)[1];
  return {
    hosts: n,
    tableKiB: Math.round(tableBytes / 102.4) / 10,
    initialConnectAndSettleMs: connectMs,
    changeToAllHoldMs: median('allHoldMs'),
    serverRoundMs: median('roundMs'),
    serverCpuMsPerChange: median('serverCpuMs'),
    trials,
    rssPerHostKiB: Math.round(((settled.rssBytes - baseline.rssBytes) / n / 1024) * 10) / 10,
    heapPerHostKiB: Math.round(((settled.heapBytes - baseline.heapBytes) / n / 1024) * 10) / 10,
    serverRssMiB: Math.round(settled.rssBytes / 1048576),
  };
}

async function churn(n, variant) {
  const flags = variant === 'immediate' ? ['--dissemination-batch-quiet-period=0', '--dissemination-batch-max-delay=0'] : [];
  const placement = await startPlacement(flags);
  const fleet = await startFleet(placement.address);
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
