// The process that owns a local control plane: it starts etcd, kube-apiserver and kube-controller-manager on
// loopback, writes `cluster.json` once the API server is ready and the controller manager has made the `default`
// ServiceAccount, and stops them all when it receives SIGTERM/SIGINT, when one of them dies, or when the process
// it watches (the test runner) is gone — so an interrupted or crashed test run leaves no stray processes.
//
//   node supervisor.js <dir> [--watch-pid <pid>] [--remove-dir-on-exit] [--node]
//
// With --node it also runs a real node (node.ts, docs/real-node.md): the API server then listens on every address
// and advertises the node's bridge address, so pods reach it through the `kubernetes` Service.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync, openSync, rmSync, existsSync } from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import path from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { parseArgs } from 'node:util';
import { dump } from 'js-yaml';
import { createCa, issueCertificate, type Issued } from './pki.js';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';
import { ensureBinaries } from './binaries.js';
import type { ClusterInfo } from './localCluster.js';
import { cleanUpNode, killContainers, nodeIp, nodeName, serviceCidr, startNode } from './node.js';

const serviceAccountIssuer = 'https://kubernetes.default.svc.cluster.local';

const { values, positionals } = parseArgs({
  options: { 'watch-pid': { type: 'string' }, 'remove-dir-on-exit': { type: 'boolean', default: false }, node: { type: 'boolean', default: false } },
  allowPositionals: true,
});
const dir = path.resolve(positionals[0] ?? '.tapr/cluster');
const watchPid = values['watch-pid'] ? Number(values['watch-pid']) : undefined;
const withNode = values.node === true;
const children = new Map<string, ChildProcess>();
let stopping = false;

function log(message: string): void {
  process.stdout.write(`${new Date().toISOString()} [local-cluster] ${message}\n`);
}

async function main(): Promise<void> {
  for (const sub of ['pki', 'logs']) mkdirSync(path.join(dir, sub), { recursive: true });
  const started = Date.now();
  const bin = ensureBinaries('kube');
  ensureBinaries('etcd');
  if (withNode) {
    const leftovers = cleanUpNode(dir);
    if (leftovers.length) log(`removed what an earlier node left: ${leftovers.join(', ')}`);
  }
  const pki = await writePki();

  const [etcdClient, etcdPeer, apiPort, kcmPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const etcdUrl = `http://127.0.0.1:${etcdClient}`;
  start('etcd', bin.etcd, [
    `--name=local`,
    `--data-dir=${path.join(dir, 'etcd')}`,
    `--listen-client-urls=${etcdUrl}`,
    `--advertise-client-urls=${etcdUrl}`,
    `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
    `--initial-cluster=local=http://127.0.0.1:${etcdPeer}`,
    '--unsafe-no-fsync',
    '--log-level=warn',
  ]);
  await waitFor(() => httpOk(`${etcdUrl}/health`), { timeoutMs: 30_000, what: 'etcd to be healthy' });

  const server = `https://127.0.0.1:${apiPort}`;
  start('kube-apiserver', bin.kubeApiserver, [
    `--etcd-servers=${etcdUrl}`,
    ...(withNode
      ? ['--bind-address=0.0.0.0', `--advertise-address=${nodeIp}`, '--kubelet-preferred-address-types=InternalIP',
         `--kubelet-client-certificate=${pki.file('admin.crt')}`, `--kubelet-client-key=${pki.file('admin.key')}`]
      : ['--bind-address=127.0.0.1', '--advertise-address=127.0.0.1']),
    `--secure-port=${apiPort}`,
    `--tls-cert-file=${pki.file('apiserver.crt')}`,
    `--tls-private-key-file=${pki.file('apiserver.key')}`,
    `--client-ca-file=${pki.file('ca.crt')}`,
    `--service-account-issuer=${serviceAccountIssuer}`,
    `--service-account-key-file=${pki.file('sa.pub')}`,
    `--service-account-signing-key-file=${pki.file('sa.key')}`,
    `--service-cluster-ip-range=${serviceCidr}`,
    '--authorization-mode=Node,RBAC',
    '--allow-privileged=true',
    '--profiling=false',
    `--cert-dir=${path.join(dir, 'pki', 'apiserver-generated')}`,
  ]);
  const admin = { ca: pki.ca.certPem, cert: pki.admin.certPem, key: pki.admin.keyPem };
  await waitFor(() => httpsOk(`${server}/readyz`, admin), { timeoutMs: 60_000, what: 'kube-apiserver /readyz' });

  const kubeconfig = path.join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, kubeconfigYaml(server, pki.ca, pki.admin, 'tapr-admin'), { mode: 0o600 });
  const kcmKubeconfig = path.join(dir, 'pki', 'controller-manager.kubeconfig');
  writeFileSync(kcmKubeconfig, kubeconfigYaml(server, pki.ca, pki.controllerManager, 'kube-controller-manager'), { mode: 0o600 });

  start('kube-controller-manager', bin.kubeControllerManager, [
    `--kubeconfig=${kcmKubeconfig}`,
    `--service-account-private-key-file=${pki.file('sa.key')}`,
    `--root-ca-file=${pki.file('ca.crt')}`,
    '--leader-elect=false',
    '--bind-address=127.0.0.1',
    `--secure-port=${kcmPort}`,
    '--controllers=*',
    // Each controller acts as its own service account, bound by RBAC bootstrap to its system:controller:* role.
    '--use-service-account-credentials=true',
    '--profiling=false',
  ]);
  await waitFor(() => httpsOk(`${server}/api/v1/namespaces/default/serviceaccounts/default`, admin), {
    timeoutMs: 60_000,
    what: 'the controller manager to create the default ServiceAccount',
  });

  if (withNode) {
    await startNode({
      clusterDir: dir,
      caFile: pki.file('ca.crt'),
      kubeconfig,
      start,
      freePort,
      log,
      waitFor: (check, what, timeoutMs) => waitFor(check, { what, timeoutMs }).then(() => undefined),
    });
    await waitFor(() => nodeReady(`${server}/api/v1/nodes/${nodeName}`, admin), { timeoutMs: 90_000, what: `node ${nodeName} to be Ready` });
  }

  const info: ClusterInfo = {
    dir,
    kubeconfig,
    server,
    caCertFile: pki.file('ca.crt'),
    serviceAccountIssuer,
    supervisorPid: process.pid,
    pids: Object.fromEntries([...children].map(([name, child]) => [name, child.pid ?? 0])),
    startedInMs: Date.now() - started,
    ...(withNode ? { node: { name: nodeName, ip: nodeIp } } : {}),
  };
  writeFileSync(path.join(dir, 'cluster.json'), JSON.stringify(info, null, 2));
  log(`ready in ${info.startedInMs} ms: ${server} (kubeconfig ${kubeconfig})`);
}

interface Pki {
  ca: Issued;
  admin: Issued;
  controllerManager: Issued;
  file(name: string): string;
}

async function writePki(): Promise<Pki> {
  const file = (name: string) => path.join(dir, 'pki', name);
  const ca = await createCa('tapr-local-cluster-ca');
  const apiserver = await issueCertificate(ca, {
    commonName: 'kube-apiserver',
    dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
    ipAddresses: ['127.0.0.1', '10.0.0.1', ...(withNode ? [nodeIp] : [])],
    usage: 'server',
  });
  // O=system:masters: full access for tests and the developer; the services themselves get RBAC-limited identities.
  const admin = await issueCertificate(ca, { commonName: 'tapr-admin', organizations: ['system:masters'], usage: 'client' });
  const controllerManager = await issueCertificate(ca, { commonName: 'system:kube-controller-manager', usage: 'client' });
  const serviceAccount = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(file('ca.crt'), ca.certPem);
  writeFileSync(file('ca.key'), ca.keyPem, { mode: 0o600 });
  writeFileSync(file('apiserver.crt'), apiserver.certPem);
  writeFileSync(file('apiserver.key'), apiserver.keyPem, { mode: 0o600 });
  // The API server's client certificate towards the node's kubelet (logs, exec, port-forward).
  writeFileSync(file('admin.crt'), admin.certPem);
  writeFileSync(file('admin.key'), admin.keyPem, { mode: 0o600 });
  writeFileSync(file('sa.key'), serviceAccount.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(file('sa.pub'), serviceAccount.publicKey.export({ type: 'spki', format: 'pem' }));
  return { ca, admin, controllerManager, file };
}

function kubeconfigYaml(server: string, ca: Issued, user: Issued, userName: string): string {
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  return dump({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'tapr-local', cluster: { server, 'certificate-authority-data': b64(ca.certPem) } }],
    users: [{ name: userName, user: { 'client-certificate-data': b64(user.certPem), 'client-key-data': b64(user.keyPem) } }],
    contexts: [{ name: 'tapr-local', context: { cluster: 'tapr-local', user: userName, namespace: 'default' } }],
    'current-context': 'tapr-local',
  });
}

function start(name: string, command: string, args: string[]): void {
  const out = openSync(path.join(dir, 'logs', `${name}.log`), 'a');
  const child = spawn(command, args, { stdio: ['ignore', out, out] });
  children.set(name, child);
  log(`started ${name} (pid ${child.pid})`);
  child.once('exit', (code, signal) => {
    if (stopping) return;
    log(`${name} exited unexpectedly (code ${code}, signal ${signal}); see ${path.join(dir, 'logs', `${name}.log`)}`);
    void stop(1);
  });
}

function httpOk(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    http
      .get(url, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      })
      .on('error', () => resolve(false));
  });
}

/** Whether the Node at `url` reports Ready. */
function nodeReady(url: string, tls: { ca: string; cert: string; key: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get(url, { ...tls, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => {
        if (res.statusCode !== 200) return resolve(false);
        const conditions = (JSON.parse(body) as { status?: { conditions?: Array<{ type: string; status: string }> } }).status?.conditions ?? [];
        resolve(conditions.some((c) => c.type === 'Ready' && c.status === 'True'));
      });
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

function httpsOk(url: string, tls: { ca: string; cert: string; key: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get(url, { ...tls, timeout: 5000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  if (withNode) killContainers(dir);
  // Reverse start order: the node's daemons, then the controller manager and API server, then etcd.
  for (const [name, child] of [...children].reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    child.kill('SIGTERM');
    const exited = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 5000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (!exited) child.kill('SIGKILL');
    log(`stopped ${name}`);
  }
  if (withNode) log(`node cleaned up: ${cleanUpNode(dir).join(', ') || 'nothing left'}`);
  // A failed start keeps its directory: the logs say why.
  if (code === 0 && values['remove-dir-on-exit'] && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  else rmSync(path.join(dir, 'cluster.json'), { force: true });
  process.exit(code);
}

process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));
if (watchPid) {
  setInterval(() => {
    try {
      process.kill(watchPid, 0);
    } catch {
      log(`watched process ${watchPid} is gone; stopping`);
      void stop(0);
    }
  }, 500);
}

main().catch((error: Error) => {
  log(`failed to start: ${error.message}`);
  writeFileSync(path.join(dir, 'failed'), `${error.message}\n`);
  void stop(1);
});
