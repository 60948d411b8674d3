// Idle memory of each tapr service binary, started as the chart starts it (Kubernetes mode, SVIDs from sentry,
// tokens bound to the service's pod) against the local API server, then left alone:
//   npx tsc -b lib sentry operator injector placement && node bench/memory/idle.mjs \
//     [--services sentry,operator,injector,placement] [--settle-ms 10000] [--node-options "--max-semi-space-size=1"]
//     [--sentry-args "--signing-workers=0"] (also --operator-args, --injector-args, --placement-args)
//     [--restart-sentry] (measure a sentry that found its trust bundle, rather than the one that generated it)
//     [--env "MALLOC_ARENA_MAX=2"] (more environment for every service) [--node-args "--optimize-for-size"] (node's
//     own command line, for flags NODE_OPTIONS does not accept)
// TAPR_CLUSTER_DIR=<dir> reuses a running local cluster (make cluster-up); otherwise one is started and stopped.
// For each service: VmRSS, RssAnon and RssFile from /proc/<pid>/status `settle-ms` after every service answered
// /healthz 200, then the V8 heap (used/total) from the service's own /metrics (read after the RSS, so the scrape does
// not count). Only kubectl and the binaries touch the API server; this script loads nothing but lib's test helpers.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, installCrds, kubectl, readClusterInfo, startLocalCluster, stopLocalCluster, waitFor } from '@tapr/lib/testing';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const wanted = arg('services', 'sentry,operator,injector,placement').split(',');
const settleMs = Number(arg('settle-ms', '10000'));
// Each service runs with the NODE_OPTIONS its image sets (ENV in <service>/Dockerfile) unless --node-options is given.
const nodeOptionsArg = arg('node-options', undefined);
const imageNodeOptions = (service) => /^ENV NODE_OPTIONS=(.*)$/m.exec(readFileSync(path.join(repo, service, 'Dockerfile'), 'utf8'))?.[1]?.trim() ?? '';
const nodeArgs = arg('node-args', '').split(' ').filter(Boolean);
const extraEnv = Object.fromEntries(arg('env', '').split(' ').filter(Boolean).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
const trustDomain = 'cluster.local';

const reuse = process.env.TAPR_CLUSTER_DIR;
let info = reuse ? readClusterInfo(path.resolve(reuse)) : undefined;
const ownCluster = !info;
if (!info) info = await startLocalCluster({ watchPid: process.pid });
installCrds(info.kubeconfig);
const kube = async (args, input) => {
  const result = await kubectl(args, { kubeconfig: info.kubeconfig, input });
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
};

const namespace = `bench-memory-${randomBytes(3).toString('hex')}`;
const webhookConfiguration = `${namespace}-injector`;
const dir = mkdtempSync(path.join(tmpdir(), 'tapr-memory-'));
const running = [];

function start(service, args, env) {
  const main = path.join(repo, service, 'dist', 'src', 'main.js');
  const extra = arg(`${service}-args`, '').split(' ').filter(Boolean);
  const nodeOptions = nodeOptionsArg ?? imageNodeOptions(service);
  const child = spawn(process.execPath, [...nodeArgs, main, ...args, ...extra], {
    env: { PATH: process.env.PATH, NAMESPACE: namespace, KUBERNETES_SERVICE_HOST: 'anything', NODE_OPTIONS: nodeOptions, ...extraEnv, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk) => (output = (output + chunk.toString()).slice(-20_000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const entry = { service, child, exited, output: () => output, nodeOptions };
  running.push(entry);
  return entry;
}

async function healthy(entry, port) {
  await waitFor(
    async () => {
      if (entry.child.exitCode !== null) throw new Error(`${entry.service} exited with ${entry.child.exitCode}`);
      return (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200;
    },
    { what: `${entry.service} /healthz 200`, timeoutMs: 60_000, intervalMs: 200 },
  ).catch((error) => {
    throw new Error(`${error.message}\n--- ${entry.service} output ---\n${entry.output()}`);
  });
}

/** A Pending pod of the service account, annotated as a control-plane pod, and a sentry token bound to it. */
async function podToken(service) {
  const account = service === 'injector' ? 'dapr-injector' : `dapr-${service}`;
  await kube(['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${account}-0`, namespace, annotations: { 'dapr.io/control-plane': service } },
    spec: { serviceAccountName: account, containers: [{ name: 'c', image: 'example.invalid/c:1' }] },
  }));
  const token = await waitFor(
    () =>
      kube(['create', 'token', account, '-n', namespace, '--duration=1h', `--audience=spiffe://${trustDomain}/ns/${namespace}/dapr-sentry`,
        '--bound-object-kind=Pod', `--bound-object-name=${account}-0`]).then((t) => t.trim()),
    { what: `a token for ${account}` },
  );
  const file = path.join(dir, `${service}.token`);
  writeFileSync(file, token);
  return file;
}

const ports = {};
for (const service of ['sentry', 'operator', 'injector', 'placement']) {
  ports[service] = { api: await freePort(), healthz: await freePort(), metrics: await freePort() };
}
const common = (service) => [
  `--port=${ports[service].api}`,
  `--healthz-port=${ports[service].healthz}`,
  `--metrics-port=${ports[service].metrics}`,
  '--healthz-listen-address=127.0.0.1',
];

try {
  await kube(['create', 'namespace', namespace]);
  await kube(['apply', '-f', '-'], [
    `{"apiVersion":"dapr.io/v1alpha1","kind":"Configuration","metadata":{"name":"daprsystem","namespace":"${namespace}"},` +
      `"spec":{"mtls":{"enabled":true,"workloadCertTTL":"24h","allowedClockSkew":"15m","sentryAddress":"127.0.0.1:${ports.sentry.api}","controlPlaneTrustDomain":"${trustDomain}"}}}`,
    ...['dapr-operator', 'dapr-injector', 'dapr-placement'].map((name) => `{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"${name}","namespace":"${namespace}"}}`),
    // Registered so the injector's caBundle patcher has its object; it selects no namespace.
    JSON.stringify({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: webhookConfiguration },
      webhooks: [{
        name: 'sidecar-injector.dapr.io',
        clientConfig: { url: 'https://127.0.0.1:1/mutate' },
        rules: [{ apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], operations: ['CREATE'] }],
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
        namespaceSelector: { matchLabels: { 'tapr.dev/bench-memory': 'none' } },
      }],
    }),
  ].join('\n---\n'));

  // Sentry first: the others get their SVIDs from it.
  const credentials = path.join(dir, 'credentials');
  mkdirSync(credentials);
  const startSentry = () => start('sentry', [...common('sentry'), '--listen-address=127.0.0.1', '--metrics-listen-address=127.0.0.1', '--mode=kubernetes',
    `--kubeconfig=${info.kubeconfig}`, `--trust-domain=${trustDomain}`, `--issuer-credentials=${credentials}`], {});
  let sentry = startSentry();
  await healthy(sentry, ports.sentry.healthz);
  if (process.argv.includes('--restart-sentry')) {
    // The first sentry generated the trust bundle (loading @peculiar/x509); a restarted one reads it back.
    sentry.child.kill('SIGTERM');
    await sentry.exited;
    running.splice(running.indexOf(sentry), 1);
    sentry = startSentry();
    await healthy(sentry, ports.sentry.healthz);
  }
  const anchors = path.join(dir, 'ca.crt');
  writeFileSync(anchors, await kube(['get', 'configmap', 'dapr-trust-bundle', '-n', namespace, '-o', 'jsonpath={.data.ca\\.crt}']));

  const started = [{ entry: sentry, port: ports.sentry.healthz }];
  if (wanted.includes('operator')) {
    const entry = start('operator', [...common('operator'), '--listen-address=127.0.0.1', '--metrics-listen-address=127.0.0.1',
      `--trust-anchors-file=${anchors}`, `--kubeconfig=${info.kubeconfig}`, `--webhook-server-port=${await freePort()}`, '--webhook-server-listen-address=127.0.0.1'],
    // Webhooks off: the conversion webhook would repoint the cluster-wide Subscription CRD.
    { DAPR_SENTRY_TOKEN_FILE: await podToken('operator'), ENABLE_WEBHOOKS: 'false' });
    started.push({ entry, port: ports.operator.healthz });
  }
  if (wanted.includes('injector')) {
    const entry = start('injector', [...common('injector'), '--listen-address=127.0.0.1', '--metrics-listen-address=127.0.0.1',
      `--kubeconfig=${info.kubeconfig}`, `--webhook-configuration-name=${webhookConfiguration}`], {
      SIDECAR_IMAGE: 'ghcr.io/dapr/daprd:1.17.0',
      DAPR_TRUST_ANCHORS_FILE: anchors,
      DAPR_CONTROL_PLANE_TRUST_DOMAIN: trustDomain,
      DAPR_SENTRY_ADDRESS: `127.0.0.1:${ports.sentry.api}`,
      DAPR_SENTRY_TOKEN_FILE: await podToken('injector'),
      KUBE_CLUSTER_DOMAIN: 'cluster.local',
    });
    started.push({ entry, port: ports.injector.healthz });
  }
  if (wanted.includes('placement')) {
    const entry = start('placement', [...common('placement'), '--listen-address=127.0.0.1', '--mode=kubernetes', '--tls-enabled=true',
      `--trust-domain=${trustDomain}`, `--trust-anchors-file=${anchors}`, `--sentry-address=127.0.0.1:${ports.sentry.api}`],
    { DAPR_SENTRY_TOKEN_FILE: await podToken('placement') });
    started.push({ entry, port: ports.placement.healthz });
  }
  await Promise.all(started.slice(1).map(({ entry, port }) => healthy(entry, port)));
  await new Promise((resolve) => setTimeout(resolve, settleMs));

  const rows = [];
  for (const { entry } of started.filter(({ entry }) => wanted.includes(entry.service))) {
    const status = readFileSync(`/proc/${entry.child.pid}/status`, 'utf8');
    const kib = (field) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
    const metrics = await fetch(`http://127.0.0.1:${ports[entry.service].metrics}/metrics`).then((r) => r.text()).catch(() => '');
    const gauge = (name) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)`, 'm').exec(metrics)?.[1] ?? NaN);
    const mib = (bytes) => (bytes / 2 ** 20).toFixed(1);
    rows.push({
      service: entry.service,
      'RSS MiB': mib(kib('VmRSS') * 1024),
      'anon MiB': mib(kib('RssAnon') * 1024),
      'file MiB': mib(kib('RssFile') * 1024),
      'heap used MiB': mib(gauge('nodejs_heap_size_used_bytes')),
      'heap total MiB': mib(gauge('nodejs_heap_size_total_bytes')),
      threads: Number(/Threads:\s+(\d+)/.exec(status)?.[1]),
      NODE_OPTIONS: entry.nodeOptions,
      // Node's own warnings on stderr (e.g. DEP0123), which an idle service should not print.
      'node warnings': entry.output().split('\n').filter((line) => /\(node:\d+\) .*Warning/.test(line)).length,
    });
  }
  console.log(`idle ${settleMs / 1000} s after healthy; node args ${JSON.stringify(nodeArgs.join(' '))}; env ${JSON.stringify(extraEnv)}; node ${process.version}`);
  console.table(rows);
  for (const { entry } of started) {
    const warnings = [...new Set(entry.output().split('\n').filter((line) => /\(node:\d+\) .*Warning/.test(line)).map((line) => line.replace(/^\(node:\d+\) /, '')))];
    for (const warning of warnings) console.log(`${entry.service}: ${warning}`);
    if (process.env.BENCH_DUMP) console.log(entry.output());
  }
} finally {
  for (const entry of running.reverse()) {
    if (entry.child.exitCode === null && entry.child.signalCode === null) entry.child.kill('SIGTERM');
    const code = await entry.exited;
    if (code !== 0) console.error(`${entry.service} exited with ${code}:\n${entry.output().slice(-3000)}`);
  }
  await kube(['delete', 'mutatingwebhookconfiguration', webhookConfiguration, '--ignore-not-found']).catch(() => undefined);
  await kube(['delete', 'namespace', namespace, '--wait=false']).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
  if (ownCluster) await stopLocalCluster(info);
}
