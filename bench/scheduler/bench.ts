// Scheduler benchmark: the built scheduler binary on its embedded etcd (the pinned etcd 3.6 binary, as users run it),
// driven as daprd drives it: ScheduleJob calls, and one sidecar's WatchJobs streams acking every trigger with SUCCESS
// (sidecarProcess.ts). Figures are printed, never asserted; README.md has them and the commands.
//
//   npx tsc -b scheduler && npx tsx bench/scheduler/bench.ts burst 10000,100000
//   npx tsx bench/scheduler/bench.ts steady 10000 --seconds 10
//   npx tsx bench/scheduler/bench.ts load 100000
//
// burst N: N one-shot actor reminders, all due at one instant after they are all scheduled. From that instant until
//   the last is delivered: triggers/s, lateness (arrival at the sidecar minus the due time), CPU of every process;
//   then until etcd holds no job again (finished one-shot jobs are deleted). RSS of the scheduler and its etcd idle,
//   with the N jobs loaded, and at the peak.
// steady N: N reminders `@every 1s` with `repeats` = --seconds, all from one instant: deliveries per second and the
//   lateness of every trigger against its own tick.
// load N: N reminders due in an hour: RSS with them loaded, then a restart on the same data: time until the new
//   process owns them all again.
//
// Options: --streams 3 (the sidecar's WatchJobs streams, on one connection like daprd's), --concurrency 256
// (ScheduleJob calls in flight) over --channels 4 connections, --target actor|job, --lead-ms (due time after the
// first ScheduleJob; default 10 s + 1 ms per job), --warmup N (burst: N jobs scheduled and delivered first,
// unmeasured), --seconds 10 (steady), --wait-quiet S (wait up to S seconds for
// other processes to use under 0.2 cores first), --client grpc-js (the sidecar on grpc-js in this process), --json.
// Environment: SCHEDULER_BINARY (another build, e.g. one from before a change), SCHEDULER_NODE_ARGS (e.g.
// "--cpu-prof --cpu-prof-dir=/tmp/schedprof", then profile.ts), SCHEDULER_FLAGS (extra scheduler flags),
// BENCH_BUCKET_MS (arrivals per this many ms instead of per second), BENCH_SCHEDULER_LOG (a file for the scheduler's output).
import { parseArgs } from 'node:util';
import { burst, load, steady, type Config } from './scenarios.js';
import { burstSummary, loadSummary, steadySummary } from './report.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    streams: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '256' },
    channels: { type: 'string', default: '4' },
    target: { type: 'string', default: 'actor' },
    'lead-ms': { type: 'string' },
    seconds: { type: 'string', default: '10' },
    'wait-quiet': { type: 'string', default: '0' },
    client: { type: 'string', default: 'h2' },
    json: { type: 'boolean', default: false },
    warmup: { type: 'string', default: '0' },
  },
});
const [scenario = 'burst', sizesText = '10000'] = positionals;
const words = (text: string | undefined) => (text ?? '').split(' ').filter(Boolean);
if (values.target !== 'actor' && values.target !== 'job') throw new Error(`--target ${values.target}: actor or job`);
if (values.client !== 'h2' && values.client !== 'grpc-js') throw new Error(`--client ${values.client}: h2 or grpc-js`);
const config: Config = {
  streams: Number(values.streams),
  concurrency: Number(values.concurrency),
  channels: Number(values.channels),
  target: values.target,
  client: values.client,
  leadMs: values['lead-ms'] === undefined ? undefined : Number(values['lead-ms']),
  waitQuietSeconds: Number(values['wait-quiet']),
  nodeArgs: words(process.env['SCHEDULER_NODE_ARGS']),
  schedulerFlags: words(process.env['SCHEDULER_FLAGS']),
  warmup: Number(values.warmup),
};

console.log(`# node ${process.version}; command: npx tsx bench/scheduler/bench.ts ${process.argv.slice(2).join(' ')}`);
for (const n of sizesText.split(',').map(Number)) {
  let result: object;
  let summary: string;
  if (scenario === 'burst') {
    const r = await burst(config, n);
    [result, summary] = [r, burstSummary(r)];
  } else if (scenario === 'steady') {
    const r = await steady(config, n, Number(values.seconds));
    [result, summary] = [r, steadySummary(r)];
  } else if (scenario === 'load') {
    const r = await load(config, n);
    [result, summary] = [r, loadSummary(r)];
  } else {
    throw new Error(`unknown scenario ${scenario} (burst, steady, load)`);
  }
  console.log(values.json ? JSON.stringify(result) : summary);
  if (!values.json) console.error(JSON.stringify(result));
}
process.exit(0);
