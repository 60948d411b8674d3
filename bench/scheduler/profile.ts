// Reads a V8 .cpuprofile (node --cpu-prof) of the scheduler and prints where its CPU went, optionally only between
// two offsets from the profile's start (the bench runs phases seconds apart; `--busy` prints CPU per second to
// find them):
//
//   npx tsx bench/scheduler/profile.ts /tmp/schedprof/CPU.*.cpuprofile --busy
//   npx tsx bench/scheduler/profile.ts /tmp/schedprof/CPU.*.cpuprofile --from 12 --to 20 --top 30
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    from: { type: 'string' },
    to: { type: 'string' },
    top: { type: 'string', default: '25' },
    busy: { type: 'boolean', default: false },
    /** Print who calls functions whose label contains this (self time by parent chain, 4 frames). */
    callers: { type: 'string' },
    /** Bucket width for --busy, in ms. */
    bucket: { type: 'string', default: '1000' },
  },
});
const profile = JSON.parse(readFileSync(positionals[0]!, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const from = values.from === undefined ? -Infinity : Number(values.from) * 1e6;
const to = values.to === undefined ? Infinity : Number(values.to) * 1e6;
const self = new Map<string, number>();
const inclusive = new Map<string, number>();
const perSecond: number[] = [];
const callers = new Map<string, number>();
let t = 0;
let total = 0;
let idle = 0;
const short = (url: string) => url.replace(/^file:\/\/.*?\/node_modules\//, '').replace(/^file:\/\/.*?\/(scheduler|lib)\/dist\//, '$1/');
const label = (n: Node) => `${n.callFrame.functionName || '(anonymous)'} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
for (let i = 0; i < profile.samples.length; i++) {
  const dt = profile.timeDeltas[i] ?? 0;
  t += dt;
  const node = byId.get(profile.samples[i]!)!;
  const name = node.callFrame.functionName;
  if (name === '(idle)') {
    if (t >= from && t <= to) idle += dt;
    continue;
  }
  const second = Math.floor(t / (Number(values.bucket) * 1000));
  while (perSecond.length <= second) perSecond.push(0);
  perSecond[second]! += dt;
  if (t < from || t > to) continue;
  total += dt;
  self.set(label(node), (self.get(label(node)) ?? 0) + dt);
  if (values.callers && label(node).includes(values.callers)) {
    const chain: string[] = [];
    for (let id = parent.get(node.id), k = 0; id !== undefined && k < 4; id = parent.get(id), k++) chain.push(label(byId.get(id)!));
    const key = chain.join(' < ');
    callers.set(key, (callers.get(key) ?? 0) + dt);
  }
  const seen = new Set<string>();
  for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
    const l = label(byId.get(id)!);
    if (seen.has(l)) continue;
    seen.add(l);
    inclusive.set(l, (inclusive.get(l) ?? 0) + dt);
  }
}
if (values.busy) {
  const width = Number(values.bucket);
  console.log(`CPU ms per ${width} ms since the profile started (start offset: busy ms):`);
  console.log(perSecond.map((us, s) => (us > 0 && (s * width) / 1000 >= (Number(values.from ?? 0)) && (s * width) / 1000 <= Number(values.to ?? Infinity) ? `${((s * width) / 1000).toFixed(1)}:${Math.round(us / 1000)}` : '')).filter(Boolean).join(' '));
}
const top = Number(values.top);
console.log(`in the window: ${Math.round(total / 1000)} ms busy (including "(program)": native code outside JS), ${Math.round(idle / 1000)} ms idle`);
const print = (title: string, map: Map<string, number>) => {
  console.log(`\n${title} (of ${Math.round(total / 1000)} ms busy)`);
  for (const [l, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / total).toFixed(1).padStart(5)} %  ${l}`);
};
if (values.callers) print(`callers of ${values.callers}`, callers);
print('self time', self);
print('inclusive time', inclusive);
