// Self time by function in a V8 CPU profile (the .cpuprofile files BENCH_PROFILE=1 writes to /tmp/injprof):
//   node bench/injector/profile.mjs <file.cpuprofile> [--top 40]
// Self time is sampled wall time on the main thread: under load it includes time spent descheduled (that shows up
// mostly in writev, the TLS write), so compare shares between functions rather than absolute milliseconds.
import { readFileSync } from 'node:fs';

const file = process.argv[2];
if (!file || file.startsWith('--')) {
  console.error('usage: node bench/injector/profile.mjs <file.cpuprofile> [--top 40]');
  process.exit(2);
}
const topAt = process.argv.indexOf('--top');
const top = topAt >= 0 ? Number(process.argv[topAt + 1]) : 40;
const profile = JSON.parse(readFileSync(file, 'utf8'));

const sampledUs = new Map(); // node id -> µs
profile.samples.forEach((id, i) => sampledUs.set(id, (sampledUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const byFunction = new Map();
let totalUs = 0;
for (const node of profile.nodes) {
  const us = sampledUs.get(node.id) ?? 0;
  totalUs += us;
  const { functionName, url, lineNumber } = node.callFrame;
  const name = `${functionName || '(anonymous)'}  ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + us);
}
console.log('   self ms  share  function  file:line');
for (const [name, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${(us / 1000).toFixed(0).padStart(10)}  ${((100 * us) / totalUs).toFixed(1).padStart(5)}%  ${name}`);
}
console.log(`${(totalUs / 1000).toFixed(0).padStart(10)}  total`);
