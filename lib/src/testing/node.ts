// A real node for the local control plane (docs/real-node.md): containerd with its CRI plugin, runc, a CNI bridge
// with host-local addresses, and the kubelet, kube-proxy and kube-scheduler of the API server's version, all on
// this machine. Pods get addresses on a bridge this module creates and removes; nothing is routed off the machine.
// Needs root (network, mounts, cgroups) and Debian's containerd, runc, containernetworking-plugins, iptables, umoci.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { binaryPaths } from './binaries.js';

export const nodeName = 'tapr-node';
export const bridgeName = 'tapr-node0';
/** The node's address: the bridge's own, so the API server, kubelet and pods reach each other on it. */
export const nodeIp = '10.88.0.1';
export const podCidr = '10.88.0.0/24';
export const serviceCidr = '10.0.0.0/24';
export const clusterDomain = 'cluster.local';

export interface NodePaths {
  dir: string;
  containerdSocket: string;
  images: string;
}

export function nodePaths(clusterDir: string): NodePaths {
  const dir = path.join(clusterDir, 'node');
  return { dir, containerdSocket: path.join(dir, 'containerd', 'containerd.sock'), images: path.join(dir, 'images') };
}

export interface NodeStartContext {
  clusterDir: string;
  caFile: string;
  /** A kubeconfig for the node's daemons (the kubelet registers the node with it). */
  kubeconfig: string;
  /** Starts a daemon the supervisor owns (logs, restart policy: none, stopped in reverse order). */
  start(name: string, command: string, args: string[]): void;
  freePort(): Promise<number>;
  log(message: string): void;
  /** Resolves once `check` does (the supervisor's waitFor). */
  waitFor(check: () => Promise<boolean> | boolean, what: string, timeoutMs: number): Promise<void>;
}

/** What a node needs that this module does not build: checked first, so a missing piece says what to install. */
export function nodePreflight(): string[] {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push('a node needs root (network namespaces, mounts, cgroups)');
  for (const tool of ['containerd', 'containerd-shim-runc-v2', 'runc', 'ip', 'iptables', 'umoci', 'ctr']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) problems.push(`${tool} is missing (apt-get install containerd runc iptables umoci iproute2)`);
  }
  for (const plugin of ['bridge', 'host-local', 'loopback']) {
    if (!existsSync(path.join('/usr/lib/cni', plugin))) problems.push(`CNI plugin /usr/lib/cni/${plugin} is missing (apt-get install containernetworking-plugins)`);
  }
  return problems;
}

export async function startNode(ctx: NodeStartContext): Promise<void> {
  const problems = nodePreflight();
  if (problems.length) throw new Error(`cannot start a node: ${problems.join('; ')}`);
  const paths = nodePaths(ctx.clusterDir);
  const bin = binaryPaths();
  const kube = path.dirname(bin.kubectl);
  for (const file of ['kubelet', 'kube-proxy', 'kube-scheduler', 'pause-image.tar'].map((name) => path.join(kube, name)).concat(bin.coredns)) {
    if (!existsSync(file)) throw new Error(`${file} is missing: bash lib/testing/build-binaries.sh node`);
  }
  const dirs = { containerd: path.join(paths.dir, 'containerd'), kubelet: path.join(paths.dir, 'kubelet'), cni: path.join(paths.dir, 'cni') };
  for (const dir of [...Object.values(dirs), paths.images, path.join(dirs.cni, 'conf')]) mkdirSync(dir, { recursive: true });

  // The bridge carries the node's address and the pods' (a stale one from a killed run goes first).
  removeBridge();
  run('ip', ['link', 'add', bridgeName, 'type', 'bridge']);
  run('ip', ['addr', 'add', `${nodeIp}/24`, 'dev', bridgeName]);
  run('ip', ['link', 'set', bridgeName, 'up']);
  // Service traffic between pods on the bridge is DNAT'ed by kube-proxy on the host, then forwarded back.
  writeFileSync(path.join(paths.dir, 'ip_forward.saved'), readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8'));
  writeFileSync('/proc/sys/net/ipv4/ip_forward', '1\n');

  writeFileSync(path.join(dirs.containerd, 'config.toml'), containerdConfig(dirs.containerd, paths.containerdSocket, dirs.cni));
  ctx.start('containerd', 'containerd', ['--config', path.join(dirs.containerd, 'config.toml')]);
  await ctx.waitFor(() => existsSync(paths.containerdSocket) && ctr(paths.containerdSocket, ['version']).status === 0, 'containerd to serve', 30_000);
  importImage(paths.containerdSocket, path.join(kube, 'pause-image.tar'));
  for (const archive of existsSync(paths.images) ? readdirSync(paths.images).filter((f) => f.endsWith('.tar')) : []) {
    importImage(paths.containerdSocket, path.join(paths.images, archive));
  }
  writeFileSync(path.join(dirs.cni, 'conf', '10-tapr.conflist'), cniConfig(path.join(dirs.cni, 'ipam')));

  const kubeletPort = await ctx.freePort();
  const kubeletHealthz = await ctx.freePort();
  const proxyHealthz = await ctx.freePort();
  const proxyMetrics = await ctx.freePort();
  const schedulerPort = await ctx.freePort();
  writeFileSync(path.join(dirs.kubelet, 'config.yaml'), kubeletConfig({ socket: paths.containerdSocket, port: kubeletPort, healthzPort: kubeletHealthz, caFile: ctx.caFile }));
  ctx.start('kubelet', path.join(kube, 'kubelet'), [
    `--config=${path.join(dirs.kubelet, 'config.yaml')}`,
    `--kubeconfig=${ctx.kubeconfig}`,
    `--root-dir=${path.join(dirs.kubelet, 'root')}`,
    `--cert-dir=${path.join(dirs.kubelet, 'pki')}`,
    `--hostname-override=${nodeName}`,
    `--node-ip=${nodeIp}`,
    '--v=1',
  ]);
  ctx.start('kube-proxy', path.join(kube, 'kube-proxy'), [
    `--kubeconfig=${ctx.kubeconfig}`,
    '--proxy-mode=iptables',
    `--cluster-cidr=${podCidr}`,
    `--hostname-override=${nodeName}`,
    `--healthz-bind-address=127.0.0.1:${proxyHealthz}`,
    `--metrics-bind-address=127.0.0.1:${proxyMetrics}`,
    // The VM's conntrack table is not ours to resize.
    '--conntrack-max-per-core=0',
    '--v=1',
  ]);
  ctx.start('kube-scheduler', path.join(kube, 'kube-scheduler'), [
    `--kubeconfig=${ctx.kubeconfig}`,
    `--authentication-kubeconfig=${ctx.kubeconfig}`,
    `--authorization-kubeconfig=${ctx.kubeconfig}`,
    '--leader-elect=false',
    '--bind-address=127.0.0.1',
    `--secure-port=${schedulerPort}`,
  ]);
  // Cluster DNS for pods (the kubelet's clusterDNS), answering from Services and pods; no upstream to forward to.
  writeFileSync(path.join(paths.dir, 'Corefile'), corefile(ctx.kubeconfig));
  ctx.start('coredns', bin.coredns, ['-conf', path.join(paths.dir, 'Corefile')]);
  ctx.log(`node ${nodeName} started at ${nodeIp} (containerd ${paths.containerdSocket})`);
}

/** Imports an OCI or Docker image archive into the node's containerd (the namespace the CRI plugin uses). */
export function importImage(socket: string, archive: string): void {
  const result = ctr(socket, ['images', 'import', '--no-unpack=false', archive]);
  if (result.status !== 0) throw new Error(`ctr images import ${archive} failed: ${result.stderr}`);
}

/** Kills every container of the node's pods, while containerd still runs (so no shim or container outlives it). */
export function killContainers(clusterDir: string): void {
  const { containerdSocket } = nodePaths(clusterDir);
  if (!existsSync(containerdSocket)) return;
  const tasks = ctr(containerdSocket, ['tasks', 'ls', '-q']).stdout.split('\n').filter(Boolean);
  for (const id of tasks) ctr(containerdSocket, ['tasks', 'kill', '--signal', 'SIGKILL', id]);
  for (const id of tasks) ctr(containerdSocket, ['tasks', 'delete', '--force', id]);
}

/**
 * Everything a node leaves behind, removed: leftover shims, mounts under the node directory, the pods' network
 * namespaces, the bridge, the iptables chains of kube-proxy, the kubelet and CNI, and ip_forward as it was.
 * Safe to call twice and after a crash (the supervisor calls it before a start too).
 */
export function cleanUpNode(clusterDir: string): string[] {
  const paths = nodePaths(clusterDir);
  const done: string[] = [];
  // Shims started for this containerd (their -address names its socket) and what they ran.
  const shims = spawnSync('pgrep', ['-f', `containerd-shim-runc-v2.*${paths.containerdSocket}`], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  for (const pid of shims) spawnSync('kill', ['-9', pid]);
  if (shims.length) done.push(`${shims.length} shims killed`);
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .map((target) => target.replace(/\\040/g, ' '))
    .filter((target) => target.startsWith(`${paths.dir}/`) || (target.startsWith('/run/netns/cni-') || target.startsWith('/var/run/netns/cni-')))
    .sort((a, b) => b.length - a.length);
  for (const target of mounts) spawnSync('umount', ['-l', target]);
  if (mounts.length) done.push(`${mounts.length} mounts removed`);
  for (const dir of ['/run/netns', '/var/run/netns']) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).filter((n) => n.startsWith('cni-'))) spawnSync('ip', ['netns', 'delete', name]);
  }
  if (removeBridge()) done.push(`bridge ${bridgeName} removed`);
  const chains = removeKubeChains();
  if (chains) done.push(`${chains} iptables chains removed`);
  const saved = path.join(paths.dir, 'ip_forward.saved');
  if (existsSync(saved)) {
    writeFileSync('/proc/sys/net/ipv4/ip_forward', readFileSync(saved, 'utf8'));
    rmSync(saved);
    done.push('ip_forward restored');
  }
  return done;
}

function removeBridge(): boolean {
  if (spawnSync('ip', ['link', 'show', bridgeName]).status !== 0) return false;
  spawnSync('ip', ['link', 'delete', bridgeName]);
  return true;
}

/**
 * Removes the chains that kube-proxy, the kubelet and CNI's plugins add (KUBE-*, CNI-*) and every rule in or jumping
 * to them, for IPv4 and IPv6: the saved tables, filtered, restored in one go (rules with quoted comments survive a
 * save/restore round trip, unlike deleting them one by one). Other rules on the machine are kept as they were.
 */
function removeKubeChains(): number {
  let removed = 0;
  const ours = /^(:|-A |-I )?(KUBE-|CNI-)/;
  for (const [save, restore] of [['iptables-save', 'iptables-restore'], ['ip6tables-save', 'ip6tables-restore']] as const) {
    const saved = spawnSync(save, [], { encoding: 'utf8' });
    if (saved.status !== 0) continue;
    const lines = saved.stdout.split('\n');
    const kept = lines.filter((line) => {
      const drop = ours.test(line) || (line.startsWith('-A ') && / -j (KUBE-|CNI-)\S*( |$)/.test(line));
      if (drop && line.startsWith(':')) removed += 1;
      return !drop;
    });
    if (kept.length !== lines.length) spawnSync(restore, [], { input: kept.join('\n') });
  }
  return removed;
}

function ctr(socket: string, args: string[]) {
  return spawnSync('ctr', ['--address', socket, '--namespace', 'k8s.io', ...args], { encoding: 'utf8', timeout: 60_000 });
}

function run(command: string, args: string[]): void {
  execFileSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function containerdConfig(dir: string, socket: string, cniDir: string): string {
  return `version = 2
root = "${path.join(dir, 'root')}"
state = "${path.join(dir, 'state')}"
[grpc]
  address = "${socket}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.10"
  # This VM withholds CAP_SYS_RESOURCE, so no process may lower its OOM score (runc would fail to start the
  # sandbox with "can't get final child's PID from pipe"); containerd then clamps scores to its own.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${path.join(cniDir, 'conf')}"
`;
}

function cniConfig(ipamDir: string): string {
  return `${JSON.stringify(
    {
      cniVersion: '0.4.0',
      name: 'tapr-node',
      plugins: [
        {
          type: 'bridge',
          bridge: bridgeName,
          isGateway: true,
          // No masquerading: pod traffic has nowhere to go but this bridge.
          ipMasq: false,
          hairpinMode: true,
          // Pods get a route to Service addresses only (kube-proxy DNATs them on the node): no default route, so
          // nothing a pod sends can leave the bridge for another network.
          ipam: { type: 'host-local', ranges: [[{ subnet: podCidr, rangeStart: '10.88.0.10', gateway: nodeIp }]], routes: [{ dst: serviceCidr, gw: nodeIp }], dataDir: ipamDir },
        },
        { type: 'loopback' },
      ],
    },
    null,
    2,
  )}\n`;
}

function corefile(kubeconfig: string): string {
  return `.:53 {
    bind ${nodeIp}
    errors
    kubernetes ${clusterDomain} in-addr.arpa ip6.arpa {
        kubeconfig ${kubeconfig} tapr-local
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 5
}
`;
}

function kubeletConfig(options: { socket: string; port: number; healthzPort: number; caFile: string }): string {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# Kubernetes 1.35+ refuses cgroup v1 unless told otherwise; this machine has only v1 controllers.
failCgroupV1: false
# containerd 1.6 does not answer the CRI RuntimeConfig call, so the kubelet uses this value (until 1.37).
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://${options.socket}
address: ${nodeIp}
port: ${options.port}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: ${options.healthzPort}
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: ${options.caFile}}
authorization: {mode: Webhook}
clusterDomain: ${clusterDomain}
clusterDNS: [${nodeIp}]
resolvConf: ""
failSwapOn: false
enforceNodeAllocatable: []
evictionHard: {}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
localStorageCapacityIsolation: false
serializeImagePulls: false
syncFrequency: 5s
fileCheckFrequency: 5s
maxPods: 60
`;
}
