// The scheduler's flags and environment — the only module that reads argv/env. Flags are Dapr 1.17's
// (docs/scheduler-spec.md §1.2, `cmd/scheduler/options/options.go`) with pflag spellings; flags marked "tapr:" are
// tapr's own. Checks Dapr makes after parsing (§1.1) fail here with the flag named (exit 1).
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseGoDuration } from '@tapr/lib/duration';
import { parseFlags } from '@tapr/lib/flags';
import { checkPort, commonFlagSpecs, readCommonOptions, sentryTokenFile, type CommonOptions } from '@tapr/lib/flagsCommon';
import { parseQuantity } from './quantity.js';

export const defaults = {
  port: 50006,
  id: 'dapr-scheduler-server-0',
  initialCluster: ['dapr-scheduler-server-0=http://localhost:2380'],
  trustDomain: 'localhost',
  trustAnchorsFile: '/var/run/secrets/dapr.io/tls/ca.crt',
  etcdClientPort: 2379,
  workers: 2048,
  /** go-etcd-cron's leadership lease: a dead replica's partition moves after this long. */
  leadershipTtlMs: 20_000,
  etcdBinaryEnv: 'TAPR_ETCD_BINARY',
  imageEtcdBinary: '/usr/local/bin/etcd',
} as const;

function flagSpecs(env: NodeJS.ProcessEnv, fileExists: (file: string) => boolean) {
  const namespace = env['NAMESPACE'] || 'default';
  const etcdBinary = env[defaults.etcdBinaryEnv] || (fileExists(defaults.imageEtcdBinary) ? defaults.imageEtcdBinary : 'etcd');
  return {
    ...commonFlagSpecs,
    'metrics-listen-address': { ...commonFlagSpecs['metrics-listen-address'], help: 'Ignored, as in Dapr: metrics listen on --listen-address' },
    'healthz-listen-address': { ...commonFlagSpecs['healthz-listen-address'], help: 'The listening address for the healthz server' },
    port: { type: 'int', default: defaults.port, help: 'The port for the scheduler server to listen on' },
    'listen-address': { type: 'string', default: '', help: 'The address for the Scheduler to listen on (gRPC and metrics)' },
    'override-broadcast-host-port': { type: 'string', default: '', help: 'Override the address (host:port) broadcast to daprd in WatchHosts' },
    'tls-enabled': { type: 'bool', default: false, help: 'Should TLS be enabled for the scheduler gRPC server' },
    'trust-domain': { type: 'string', default: defaults.trustDomain, help: 'Trust domain for the Dapr control plane' },
    'trust-anchors-file': { type: 'string', default: defaults.trustAnchorsFile, help: 'Filepath to the trust anchors for the Dapr control plane' },
    'sentry-address': { type: 'string', default: `dapr-sentry.${namespace}.svc:443`, help: 'Address of the Sentry service' },
    mode: { type: 'string', default: 'standalone', help: 'Runtime mode for Dapr Scheduler' },
    kubeconfig: { type: 'string', default: '', help: 'Kubernetes mode only. Absolute path to the kubeconfig file.', hidden: true },
    id: { type: 'string', default: defaults.id, help: 'Scheduler server ID (etcd member name and partition owner)' },
    'etcd-embed': { type: 'bool', default: true, help: 'When enabled, runs etcd beside the scheduler (tapr: the etcd binary as a child process)' },
    'etcd-initial-cluster': { type: 'stringSlice', default: [...defaults.initialCluster] as string[], help: 'Initial etcd cluster peers (name=URL)' },
    'etcd-data-dir': { type: 'string', default: './data', help: 'Directory to store scheduler etcd data' },
    'etcd-client-port': { type: 'int', default: defaults.etcdClientPort, help: 'Port for etcd client communication' },
    'etcd-client-listen-address': { type: 'string', default: 'localhost', help: 'Address for etcd client communication' },
    'etcd-space-quota': { type: 'string', default: '9.2E', help: 'Space quota for etcd' },
    'etcd-compaction-mode': { type: 'string', default: 'periodic', help: 'Compaction mode for etcd. Can be periodic or revision' },
    'etcd-compaction-retention': { type: 'string', default: '10m', help: 'Compaction retention for etcd' },
    'etcd-snapshot-count': { type: 'int', default: 10000, help: 'Number of committed transactions to trigger a snapshot to disk' },
    'etcd-max-snapshots': { type: 'int', default: 10, help: 'Maximum number of snapshot files to retain (0 is unlimited)' },
    'etcd-max-wals': { type: 'int', default: 10, help: 'Maximum number of write-ahead logs to retain (0 is unlimited)' },
    'etcd-backend-batch-limit': { type: 'int', default: 5000, help: 'Maximum operations before committing the backend transaction' },
    'etcd-backend-batch-interval': { type: 'string', default: '50ms', help: 'Maximum time before committing the backend transaction' },
    'etcd-experimental-bootstrap-defrag-threshold-megabytes': { type: 'int', default: 100, help: 'Minimum number of megabytes to free before defragmenting at start' },
    'etcd-initial-election-tick-advance': { type: 'bool', default: false, help: 'Whether to fast-forward initial election ticks on boot' },
    'etcd-metrics': { type: 'string', default: 'basic', help: "Level of detail for exported etcd metrics, 'basic' or 'extensive'" },
    'etcd-client-endpoints': { type: 'stringSlice', default: [] as string[], help: 'Comma-separated list of etcd client endpoints (with --etcd-embed=false)' },
    'etcd-client-username': { type: 'string', default: '', help: 'Username for etcd client authentication' },
    'etcd-client-password': { type: 'string', default: '', help: 'Password for etcd client authentication' },
    'identity-directory-write': { type: 'string', default: path.join(tmpdir(), 'secrets/dapr.io/tls'), help: 'Directory to write the identity certificate files to', hidden: true },
    workers: { type: 'int', default: defaults.workers, help: 'Most job triggers awaiting a sidecar ack at once (Dapr: go-etcd-cron workers); must be positive' },
    'etcd-binary': { type: 'string', default: etcdBinary, help: `tapr: the etcd executable run with --etcd-embed (default $${defaults.etcdBinaryEnv}, ${defaults.imageEtcdBinary}, or etcd on PATH)` },
    'leadership-ttl': { type: 'duration', default: defaults.leadershipTtlMs, help: "tapr: lease of a replica's leadership key; a dead replica's jobs move to the others after this long" },
  } as const;
}

export interface SchedulerOptions extends CommonOptions {
  port: number;
  listenAddress: string;
  overrideBroadcastHostPort: string;
  tlsEnabled: boolean;
  trustDomain: string;
  trustAnchorsFile: string;
  sentryAddress: string;
  mode: string;
  kubeconfig: string;
  id: string;
  etcd: EtcdOptions;
  identityDirectory: string;
  workers: number;
  leadershipTtlMs: number;
  /** NAMESPACE: the control-plane namespace (the SVID, the data dir). */
  namespace: string;
  sentryTokenFile: string | undefined;
  sentryLocalIdentity: string | undefined;
  /** DAPR_HOST_IP: the host WatchHosts advertises when not listening on loopback. */
  hostIp: string | undefined;
  notices: string[];
  env: NodeJS.ProcessEnv;
}

export interface EtcdOptions {
  embed: boolean;
  binary: string;
  initialCluster: string[];
  dataDir: string;
  clientPort: number;
  clientListenAddress: string;
  spaceQuotaBytes: number;
  compactionMode: string;
  compactionRetention: string;
  snapshotCount: number;
  maxSnapshots: number;
  maxWals: number;
  backendBatchLimit: number;
  backendBatchIntervalMs: number;
  bootstrapDefragThresholdMb: number;
  initialElectionTickAdvance: boolean;
  metrics: string;
  clientEndpoints: string[];
  clientUsername: string;
  clientPassword: string;
}

export interface OptionsEnvironment {
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  fileExists?: (file: string) => boolean;
}

export function readOptions({ argv, env, fileExists = existsSync }: OptionsEnvironment): SchedulerOptions {
  const { values, set } = parseFlags(flagSpecs(env, fileExists), argv, {
    program: 'scheduler',
    dialect: 'pflag',
    summary: 'tapr scheduler service (Dapr-compatible jobs and actor reminders)',
  });
  const notices: string[] = [];
  if (set.has('metrics-listen-address')) notices.push('--metrics-listen-address is ignored, as in Dapr: metrics listen on --listen-address');

  const mode = values.mode;
  const tlsEnabled = values['tls-enabled'] || mode === 'kubernetes';
  if (tlsEnabled && !values['tls-enabled']) notices.push('mTLS is on because --mode=kubernetes, as in Dapr');

  let spaceQuotaBytes: number;
  try {
    spaceQuotaBytes = parseQuantity(values['etcd-space-quota']);
  } catch (err) {
    throw new Error(`failed to parse etcd space quota: --etcd-space-quota "${values['etcd-space-quota']}": ${(err as Error).message}`);
  }
  const batchInterval = parseDurationFlag(values['etcd-backend-batch-interval'], '--etcd-backend-batch-interval');

  const options: SchedulerOptions = {
    ...readCommonOptions(values),
    port: checkPort(values.port, '--port'),
    listenAddress: values['listen-address'],
    overrideBroadcastHostPort: values['override-broadcast-host-port'],
    tlsEnabled,
    trustDomain: values['trust-domain'],
    trustAnchorsFile: values['trust-anchors-file'],
    sentryAddress: values['sentry-address'],
    mode,
    kubeconfig: values.kubeconfig,
    id: values.id,
    etcd: {
      embed: values['etcd-embed'],
      binary: values['etcd-binary'],
      initialCluster: values['etcd-initial-cluster'],
      dataDir: values['etcd-data-dir'],
      clientPort: checkPort(values['etcd-client-port'], '--etcd-client-port'),
      clientListenAddress: values['etcd-client-listen-address'],
      spaceQuotaBytes,
      compactionMode: values['etcd-compaction-mode'],
      compactionRetention: values['etcd-compaction-retention'],
      snapshotCount: values['etcd-snapshot-count'],
      maxSnapshots: values['etcd-max-snapshots'],
      maxWals: values['etcd-max-wals'],
      backendBatchLimit: values['etcd-backend-batch-limit'],
      backendBatchIntervalMs: batchInterval,
      bootstrapDefragThresholdMb: values['etcd-experimental-bootstrap-defrag-threshold-megabytes'],
      initialElectionTickAdvance: values['etcd-initial-election-tick-advance'],
      metrics: values['etcd-metrics'],
      clientEndpoints: values['etcd-client-endpoints'].map((e) => e.trim()).filter(Boolean),
      clientUsername: values['etcd-client-username'],
      clientPassword: values['etcd-client-password'],
    },
    identityDirectory: values['identity-directory-write'],
    workers: values.workers,
    leadershipTtlMs: values['leadership-ttl'],
    namespace: env['NAMESPACE'] || 'default',
    sentryTokenFile: sentryTokenFile(env, mode, fileExists),
    sentryLocalIdentity: env['SENTRY_LOCAL_IDENTITY'] || undefined,
    hostIp: env['DAPR_HOST_IP'] || undefined,
    notices,
    env,
  };
  validate(options, set);
  return options;
}

/** Dapr's post-parse checks (options.go, app.go, go-etcd-cron's New), each naming its flag. */
function validate(options: SchedulerOptions, set: ReadonlySet<string>): void {
  const { etcd } = options;
  if (options.kubeconfig && options.mode !== 'kubernetes') throw new Error('--kubeconfig requires --mode=kubernetes');
  if (etcd.embed && (etcd.clientEndpoints.length > 0 || etcd.clientUsername || etcd.clientPassword)) {
    throw new Error('--etcd-client-endpoints, --etcd-client-username and --etcd-client-password need --etcd-embed=false');
  }
  if (!etcd.embed && etcd.clientEndpoints.length === 0) throw new Error('--etcd-embed=false needs --etcd-client-endpoints');
  if (options.tlsEnabled && !set.has('trust-anchors-file')) {
    throw new Error('trust anchors are required: pass --trust-anchors-file when mTLS is enabled');
  }
  if (options.workers <= 0) throw new Error('--workers must be greater than 0');
  if (options.leadershipTtlMs < 2000) throw new Error('--leadership-ttl must be at least 2s (etcd leases count whole seconds)');
  if (etcd.embed && !etcd.initialCluster.some((item) => item.split('=')[0]?.trim() === options.id)) {
    throw new Error(`--id ${options.id} is not in --etcd-initial-cluster (${etcd.initialCluster.join(', ')})`);
  }
}

function parseDurationFlag(text: string, flag: string): number {
  try {
    return parseGoDuration(text.trim());
  } catch (err) {
    throw new Error(`${flag}: ${(err as Error).message}`);
  }
}
