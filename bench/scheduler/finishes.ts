// The cost of finishing jobs, alone: N job records in an embedded etcd (configured from the scheduler's own defaults,
// as `scheduler` runs it), a watch on the job space (as the owning engine keeps one), then the scheduler's
// CounterWriter finishing all N at once, until the watch has seen every delete. With --counters both (default) it
// alternates finishing with the counter's delete (what every finish cost before deleteCounter; a batch then holds
// 64 jobs) and without it (a job that never had a counter; 128 jobs a batch), on fresh keys each round.
//
//   npx tsc -b scheduler && npx tsx bench/scheduler/finishes.ts 100000 --rounds 3
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Etcd3 } from 'etcd3';
import { createLogger } from '@tapr/lib/logger';
import { binaryPaths } from '@tapr/lib/testing/binaries';
import { freePort } from '@tapr/lib/testing/ports';
import { EmbeddedEtcd } from '../../scheduler/dist/src/embeddedEtcd.js';
import { readOptions } from '../../scheduler/dist/src/options.js';
import { CounterWriter } from '../../scheduler/dist/src/counterWriter.js';
import { JobStore, jobsPrefix } from '../../scheduler/dist/src/store.js';
import { cpuMsOf, machineBusyMs, sleep, waitQuiet } from './processes.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: 'string', default: '3' }, 'wait-quiet': { type: 'string', default: '0' } },
});
const n = Number(positionals[0] ?? 100_000);
const rounds = Number(values.rounds);

const logger = createLogger({ scope: 'bench.finishes', level: 'warn', json: false });
const dataDir = mkdtempSync(path.join(tmpdir(), 'tapr-finishes-'));
const [clientPort, peerPort] = await Promise.all([freePort(), freePort()]);
const options = readOptions({
  argv: [`--etcd-binary=${binaryPaths().etcd}`, `--etcd-data-dir=${dataDir}`, `--etcd-client-port=${clientPort}`, '--etcd-client-listen-address=127.0.0.1', `--etcd-initial-cluster=dapr-scheduler-server-0=http://127.0.0.1:${peerPort}`],
  env: { NAMESPACE: 'default' },
});
const etcd = new EmbeddedEtcd({ ...options.etcd, id: options.id, mode: options.mode, namespace: options.namespace, logger });
const stop = new AbortController();
const running = etcd.run(stop.signal);
await etcd.whenReady(stop.signal);
const client = new Etcd3({ hosts: [etcd.clientEndpoint], grpcOptions: { 'grpc.max_receive_message_length': -1 } });
const store = new JobStore(client);
const writer = new CounterWriter(store, logger);

// A job record of the size the benchmark's reminders have (~420 bytes of JSON).
const value = JSON.stringify({
  partitionId: '12345678901234567890',
  createdAt: '1764770000000000000',
  dueTime: '2026-12-03T12:00:00Z',
  failurePolicy: { constant: { interval: { seconds: '1', nanos: 0 }, maxRetries: 3 } },
  data: { typeUrl: 'type.googleapis.com/google.protobuf.BytesValue', value: Buffer.from('{"reminder":"bench"}').toString('base64') },
  metadata: Buffer.from('\n\x05bench\x12\x07default\x1a\x16\x12\x14\n\nBenchActor\x12\x06a12345').toString('base64'),
  type: 'actor',
});

async function round(label: string, deleteCounter: boolean, count = n, report = true) {
  const prefix = `actorreminder||default||BenchActor-${label}||`;
  const keys = Array.from({ length: count }, (_, i) => `${prefix}a${i}||r${i}`);
  for (let i = 0; i < n; i += 128) {
    const batch = keys.slice(i, i + 128);
    await store.kv.if(jobsPrefix + batch[0]!, 'Version', '>', -1).then(...batch.map((k) => store.kv.put(jobsPrefix + k).value(value))).commit();
  }
  const items = await store.list(prefix);
  const watcher = await client.watch().prefix('dapr/' + jobsPrefix).create();
  let deletes = 0;
  watcher.on('delete', () => deletes++);
  await waitQuiet(Number(values['wait-quiet']), () => [process.pid, etcd.pid!]);
  const started = { wall: Date.now(), machine: machineBusyMs(), bench: cpuMsOf(process.pid), etcd: cpuMsOf(etcd.pid) };
  for (const job of items) writer.finish(job.key, job.modRevision, deleteCounter);
  await writer.flush();
  while (deletes < items.length) await sleep(5);
  const ms = Date.now() - started.wall;
  const benchCpu = cpuMsOf(process.pid) - started.bench;
  const etcdCpu = cpuMsOf(etcd.pid) - started.etcd;
  const others = (machineBusyMs() - started.machine - benchCpu - etcdCpu) / ms;
  await watcher.cancel();
  if (!report) return;
  const us = (cpu: number) => `${((cpu * 1000) / items.length).toFixed(0)} µs`;
  console.log(
    `${deleteCounter ? 'with the counter delete   ' : 'without the counter delete'}: ${items.length} finishes in ${(ms / 1000).toFixed(2)} s ` +
      `(${Math.round(items.length / (ms / 1000))}/s); CPU per finish: this process (writer + watch) ${us(benchCpu)}, etcd ${us(etcdCpu)}; other processes ${others.toFixed(2)} cores`,
  );
}

console.log(`# node ${process.version}; command: npx tsx bench/scheduler/finishes.ts ${process.argv.slice(2).join(' ')}`);
// Warm-up (JIT, connections), not reported.
await round('warm-w', true, 5000, false);
await round('warm-o', false, 5000, false);
for (let r = 0; r < rounds; r++) {
  await round(`w${r}`, true);
  await round(`o${r}`, false);
}
client.close();
stop.abort();
await running.catch(() => {});
rmSync(dataDir, { recursive: true, force: true });
process.exit(0);
