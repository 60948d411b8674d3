// HA against the real local API server: three placement processes (the built binary) elect a leader with a
// coordination.k8s.io Lease; followers refuse sidecars with Dapr's "not a leader" status; when the leader is
// killed, a follower takes the Lease, waits until the sidecars it expects are back, and only then disseminates —
// so no sidecar ever receives a partial table from it. Failover times are printed for the record.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { adminKubeConfig, createTestNamespace, deleteTestNamespace, freePort, testCluster, waitFor } from '@tapr/lib/testing';
import { SimulatedSidecar } from './simulatedSidecar.js';

const binary = path.resolve('placement/dist/src/main.js');
const hostCount = 20;

interface Node {
  id: string;
  port: number;
  healthzPort: number;
  metricsPort: number;
  process?: ChildProcess;
  exit?: Promise<number | null>;
  output: string[];
}

describe('placement leader election and failover (3 processes, Kubernetes Lease)', () => {
  let namespace: string;
  const nodes: Node[] = [];
  const sidecars: SimulatedSidecar[] = [];
  const leases = adminKubeConfig().makeApiClient(CoordinationV1Api);

  beforeAll(async () => {
    if (!existsSync(binary)) throw new Error(`${binary} is missing: build first (npx tsc -b placement)`);
    namespace = await createTestNamespace('placement-ha');
    for (const id of ['p1', 'p2', 'p3']) {
      nodes.push({ id, port: await freePort(), healthzPort: await freePort(), metricsPort: await freePort(), output: [] });
    }
    for (const node of nodes) start(node);
    await Promise.all(nodes.map((node) => waitFor(() => healthy(node), { what: `${node.id} to be healthy`, timeoutMs: 25_000 })));
  });

  afterAll(async () => {
    for (const sidecar of sidecars) sidecar.close();
    for (const node of nodes) node.process?.kill('SIGKILL');
    await Promise.all(nodes.map((node) => node.exit));
    await deleteTestNamespace(namespace);
  });

  function start(node: Node): void {
    const peers = nodes.map((n) => `${n.id}=127.0.0.1:${n.port + 1}`).join(',');
    const child = spawn(
      process.execPath,
      [
        binary,
        `--id=${node.id}`,
        `--initial-cluster=${peers}`,
        '--mode=kubernetes',
        `--kubeconfig=${testCluster().kubeconfig}`,
        `--port=${node.port}`,
        '--listen-address=127.0.0.1',
        `--healthz-port=${node.healthzPort}`,
        '--healthz-listen-address=127.0.0.1',
        `--metrics-port=${node.metricsPort}`,
        '--tls-enabled=false',
        '--metadata-enabled=true',
        '--log-level=info',
      ],
      { env: { NAMESPACE: namespace }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.on('data', (chunk: Buffer) => node.output.push(chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => node.output.push(chunk.toString()));
    node.process = child;
    node.exit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  async function healthy(node: Node): Promise<boolean> {
    const response = await fetch(`http://127.0.0.1:${node.healthzPort}/healthz`).catch(() => undefined);
    return response?.status === 200;
  }

  async function isLeader(node: Node): Promise<boolean | undefined> {
    const text = await fetch(`http://127.0.0.1:${node.metricsPort}/metrics`).then((r) => r.text()).catch(() => undefined);
    if (text === undefined) return undefined;
    return /^dapr_placement_leader_status 1$/m.test(text);
  }

  async function leaders(candidates: Node[]): Promise<Node[]> {
    const status = await Promise.all(candidates.map((node) => isLeader(node)));
    return candidates.filter((_, i) => status[i] === true);
  }

  async function lease() {
    return leases.readNamespacedLease({ name: 'dapr-placement-leader', namespace });
  }

  const address = (node: Node) => `127.0.0.1:${node.port}`;
  const allHold = (from: Node) =>
    sidecars.every((s) => s.connectedTo === address(from) && s.readyVersion !== undefined && s.hostsOf('counter').length === hostCount) &&
    new Set(sidecars.map((s) => s.readyVersion)).size === 1;

  it('elects exactly one leader, the Lease holder', async () => {
    const [leader] = await waitFor(async () => {
      const found = await leaders(nodes);
      return found.length === 1 ? found : undefined;
    }, { what: 'one leader', timeoutMs: 15_000 });
    expect((await lease()).spec?.holderIdentity).toBe(leader!.id);
  });

  it('makes followers refuse sidecars with FailedPrecondition "not a leader"', async () => {
    const [leader] = await leaders(nodes);
    const follower = nodes.find((node) => node !== leader)!;
    const probe = new SimulatedSidecar({
      addresses: [address(follower)],
      credentials: grpc.credentials.createInsecure(),
      name: '10.20.0.99:50002',
      id: 'probe',
      namespace: 'ha',
      entities: [],
    });
    probe.start();
    const status = await waitFor(() => probe.lastStatus, { what: 'the follower to refuse' });
    probe.close();
    expect(status.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(status.details).toBe(`node id=${follower.id} is not a leader. Only the leader can serve requests`);
  });

  it('serves sidecars that cycle through all addresses from the leader, and records them on the Lease', async () => {
    const [leader] = await leaders(nodes);
    for (let i = 0; i < hostCount; i++) {
      const sidecar = new SimulatedSidecar({
        addresses: nodes.map(address).slice(i % 3).concat(nodes.map(address).slice(0, i % 3)),
        credentials: grpc.credentials.createInsecure(),
        name: `10.20.0.${i}:50002`,
        id: 'orders',
        namespace: 'ha',
        entities: ['counter'],
        reconnect: true,
      });
      sidecars.push(sidecar);
      sidecar.start();
    }
    await waitFor(() => allHold(leader!), { what: `all ${hostCount} sidecars to hold the leader's table`, timeoutMs: 20_000 });
    await waitFor(async () => (await lease()).metadata?.annotations?.['placement.tapr.dev/actor-hosts'] === JSON.stringify({ ha: hostCount }), {
      what: 'the Lease to record the actor hosts',
    });
  });

  it('fails over when the leader is killed: a follower takes the Lease and disseminates one complete table', async () => {
    const [leader] = await leaders(nodes);
    const killedAt = Date.now();
    leader!.process!.kill('SIGKILL');
    await leader!.exit;
    const survivors = nodes.filter((node) => node !== leader);
    const [next] = await waitFor(async () => {
      const found = await leaders(survivors);
      return found.length === 1 ? found : undefined;
    }, { what: 'a new leader', timeoutMs: 20_000 });
    const electedMs = Date.now() - killedAt;
    await waitFor(() => allHold(next!), { what: 'every sidecar to hold the new leader’s table', timeoutMs: 20_000 });
    const failoverMs = Date.now() - killedAt;
    process.stdout.write(`placement failover after SIGKILL: new leader ${next!.id} elected in ${electedMs} ms; all ${hostCount} hosts hold its table after ${failoverMs} ms\n`);

    expect((await lease()).spec?.holderIdentity).toBe(next!.id);
    // The new leader never sent a partial table: every update any sidecar got from it lists all hosts.
    for (const sidecar of sidecars) {
      const fromNew = sidecar.updates.filter((u) => u.from === address(next!));
      expect(fromNew.length).toBeGreaterThan(0);
      for (const update of fromNew) expect(update.hosts['counter']).toBe(hostCount);
    }
    expect(failoverMs).toBeLessThan(20_000);
  });

  it('hands over at once when the leader stops gracefully (SIGTERM releases the Lease), exiting 0', async () => {
    const [leader] = await leaders(nodes.filter((node) => node.process!.exitCode === null));
    const stoppedAt = Date.now();
    leader!.process!.kill('SIGTERM');
    expect(await leader!.exit).toBe(0);
    const remaining = nodes.filter((node) => node.process!.exitCode === null && node !== leader);
    const [next] = await waitFor(async () => {
      const found = await leaders(remaining);
      return found.length === 1 ? found : undefined;
    }, { what: 'the last node to lead', timeoutMs: 20_000 });
    await waitFor(() => allHold(next!), { what: 'every sidecar to hold the last leader’s table', timeoutMs: 20_000 });
    const handoverMs = Date.now() - stoppedAt;
    process.stdout.write(`placement handover after SIGTERM: ${next!.id} leads; all ${hostCount} hosts hold its table after ${handoverMs} ms\n`);
    expect(handoverMs).toBeLessThan(10_000);
  });
});
