// The cost of answering one review in-process (no HTTP, no TLS): body string in, response bytes out, through the
// injector's real ReviewResponder (parse, replica cache, admission, patch, encoding) — the part of the server's
// CPU per review that is the injector's own; run.mjs measures the rest.
//   node bench/injector/answer.mjs [--seconds 2] [--workload replicas,pods,apps] [--stages]
// --stages also times the stages of building one answer (parse, settings, mutation, diff, encoding).
import { readFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import { Admission } from '../../injector/dist/src/admission.js';
import { encodeAnswer, parseAdmissionReview } from '../../injector/dist/src/admissionReview.js';
import { readSidecarSettings } from '../../injector/dist/src/annotations.js';
import { CallerAuthorisation, ServiceAccountMatcher } from '../../injector/dist/src/callerAuthorisation.js';
import { diffPatch } from '../../injector/dist/src/jsonPatch.js';
import { injectSidecar } from '../../injector/dist/src/podMutation.js';
import { ReviewCache } from '../../injector/dist/src/reviewCache.js';
import { ReviewResponder } from '../../injector/dist/src/reviewResponder.js';
import { SidecarTemplate } from '../../injector/dist/src/sidecarContainer.js';
import { testEnvironment } from '../../injector/dist/src/testdata/environment.js';
import { createCa } from '../../lib/dist/src/testing/pki.js';
import { requestBody, workloads } from './review.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const seconds = Number(arg('seconds', '2'));
const selected = arg('workload', workloads.join(',')).split(',');

const trustAnchors = (await createCa('bench trust anchors')).certPem;
const template = new SidecarTemplate(testEnvironment);
const authorisation = new CallerAuthorisation(new ServiceAccountMatcher(''));
authorisation.setAllowedUids(['controller-uid']);
const admission = new Admission({ template, authorisation, trustAnchors: () => trustAnchors, mtlsEnabled: () => true });

let gcMs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMs += entry.duration;
}).observe({ entryTypes: ['gc'] });

// Bodies are made up front, so the loop measures the answer, not the making of requests: a ring of 256 (twice
// the replica cache, which it cycles through, so 'pods' and 'apps' never hit it), small enough to stay in the CPU
// caches as a body just read from the socket would be. Their keys do come round again, so every other round
// stores its answers (seen before) only to lose them: a little dearer than never-repeating pods in run.mjs.
const ring = 256;
const settle = () => new Promise((resolve) => setTimeout(resolve, 5)); // lets the GC observer report
async function timed(run) {
  run(performance.now() + 300); // warm-up
  await settle();
  const gcBefore = gcMs;
  const cpuBefore = process.cpuUsage();
  const count = run(performance.now() + seconds * 1000);
  const cpu = process.cpuUsage(cpuBefore);
  await settle();
  // CPU time rather than elapsed time: on a shared machine, time spent descheduled is not the answer's cost.
  return { us: (cpu.user + cpu.system) / count, gcUs: ((gcMs - gcBefore) * 1000) / count };
}

function loop(step) {
  let n = 0;
  return (until) => {
    const first = n;
    while (performance.now() < until) for (let i = 0; i < 64; i++) step(n++ % ring);
    return n - first;
  };
}

console.log(`in-process answers, ${seconds}s per line (load average ${loadAverage()})`);
console.log('workload   µs/answer  (GC µs)  response bytes');
for (const workload of selected) {
  const responder = new ReviewResponder(admission, new ReviewCache());
  const bodies = Array.from({ length: ring }, (_, n) => requestBody(workload, n));
  let size = 0;
  const r = await timed(loop((i) => (size = responder.respond(bodies[i]).text.length)));
  console.log(`${workload.padEnd(9)}  ${r.us.toFixed(1).padStart(9)}  ${`(${r.gcUs.toFixed(1)})`.padStart(7)}  ${String(size).padStart(14)}`);
}

if (process.argv.includes('--stages')) {
  // One answer of the 'apps' workload, stage by stage (each stage on inputs prepared by the previous ones).
  const bodies = Array.from({ length: ring }, (_, n) => requestBody('apps', n));
  const requests = bodies.map((body) => parseAdmissionReview(body).request);
  const pods = requests.map((request) => request.object);
  const settings = pods.map((pod) => readSidecarSettings(pod.metadata.annotations).settings);
  const input = (i) => ({ pod: pods[i], settings: settings[i], appId: settings[i].appId, namespace: 'shop', trustAnchorsPem: trustAnchors, mtlsEnabled: true });
  const mutated = pods.map((_, i) => injectSidecar(template, input(i)));
  const outcomes = requests.map((request) => admission.review(request));
  const stages = {
    'parse the body': (i) => parseAdmissionReview(bodies[i]),
    'read the annotations': (i) => readSidecarSettings(pods[i].metadata.annotations),
    'mutate (daprd built)': (i) => injectSidecar(template, input(i)),
    'diff (JSON Patch)': (i) => diffPatch(pods[i], mutated[i]),
    'whole admission.review': (i) => admission.review(requests[i]),
    'encode the answer': (i) => encodeAnswer('admission.k8s.io/v1', outcomes[i]),
  };
  console.log('\nstage                     µs  (GC µs)');
  for (const [name, step] of Object.entries(stages)) {
    const r = await timed(loop(step));
    console.log(`${name.padEnd(24)}  ${r.us.toFixed(1).padStart(4)}  ${`(${r.gcUs.toFixed(1)})`.padStart(7)}`);
  }
}

function loadAverage() {
  return readFileSync('/proc/loadavg', 'utf8').split(' ', 1)[0];
}
