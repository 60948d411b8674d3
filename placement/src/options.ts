// Placement's flags and environment — the only module that reads argv/env. Flags are Dapr 1.17's (spec §11.6,
// §11.2) with pflag spellings (`--replicationFactor` is camel-case in Dapr too); Raft flags are accepted and map
// onto the Lease election (docs/placement.md). Flags marked "tapr:" are tapr's own.
import { existsSync } from 'node:fs';
import { parseFlags } from '@tapr/lib/flags';
import { checkPort, commonFlagSpecs, kubeconfigFlagSpec, readCommonOptions, sentryTokenFile, type CommonOptions } from '@tapr/lib/flagsCommon';
import { defaultReplicationFactor } from '@tapr/lib/placement/ring';
import { defaultMaxActorTypesPerHost } from './authorize.js';
import type { TableHostFields } from './wire.js';

export const defaults = {
  id: 'dapr-placement-0',
  initialCluster: ['dapr-placement-0=127.0.0.1:8201'],
  port: 50005,
  replicationFactor: defaultReplicationFactor,
  keepaliveTimeMs: 2000,
  keepaliveTimeoutMs: 3000,
  keepaliveMinMs: 1000,
  keepaliveMaxMs: 10_000,
  disseminateTimeoutMs: 8000,
  trustDomain: 'localhost',
  trustAnchorsFile: '/var/run/secrets/dapr.io/tls/ca.crt',
  batchQuietMs: 250,
  batchMaxDelayMs: 2000,
  settleQuietMs: 1000,
  settleTimeoutMs: 5000,
  leaseDurationMs: 4000,
  leaseRenewDeadlineMs: 3000,
  leaseRetryPeriodMs: 1000,
  sendStallTimeoutMs: 3000,
  maxBufferedBytes: 64 * 1024 * 1024,
  writeBudgetBytes: 4 * 1024 * 1024,
  metadataEnv: 'DAPR_PLACEMENT_METADATA_ENABLED',
} as const;

function flagSpecs(env: NodeJS.ProcessEnv) {
  const namespace = env['NAMESPACE'] || 'default';
  return {
    ...commonFlagSpecs,
    // As in Dapr, placement's exporter binds its --listen-address instead.
    'metrics-listen-address': { ...commonFlagSpecs['metrics-listen-address'], help: 'Ignored, as in Dapr: metrics listen on --listen-address' },
    id: { type: 'string', default: defaults.id, help: 'Placement server ID (the Lease holder identity in HA)' },
    'initial-cluster': {
      type: 'stringSlice',
      default: [...defaults.initialCluster] as string[],
      help: 'Raft cluster peers (id=host:port). tapr: more than one peer = HA, elected with a Kubernetes Lease; addresses are not dialled',
    },
    'inmem-store-enabled': { type: 'bool', default: true, help: 'Accepted for Dapr compatibility; tapr keeps no Raft log' },
    'raft-logstore-path': { type: 'string', default: '', help: 'Accepted for Dapr compatibility; tapr keeps no Raft log' },
    port: { type: 'int', default: defaults.port, help: 'sets the gRPC port for the placement service' },
    'listen-address': { type: 'string', default: '', help: 'The listening address for the placement service (and its metrics)' },
    'tls-enabled': { type: 'bool', default: false, help: 'Should TLS be enabled for the placement gRPC server' },
    'metadata-enabled': {
      type: 'bool',
      default: isTruthy(env[defaults.metadataEnv]),
      help: `Expose the placement tables on the healthz server (default from ${defaults.metadataEnv})`,
    },
    replicationFactor: {
      type: 'int',
      default: defaults.replicationFactor,
      help: 'sets the replication factor for actor distribution on virtual nodes',
    },
    'keepalive-time': {
      type: 'duration',
      default: defaults.keepaliveTimeMs,
      help: 'interval of keepalive pings to daprd on the stream (1s–10s); lower = faster detection of lost hosts',
    },
    'keepalive-timeout': {
      type: 'duration',
      default: defaults.keepaliveTimeoutMs,
      help: 'time daprd has to answer a keepalive ping before its stream is closed (1s–10s)',
    },
    'disseminate-timeout': {
      type: 'duration',
      default: defaults.disseminateTimeoutMs,
      help: 'time after which a dissemination round is failed; daprds that have not responded are disconnected',
    },
    'trust-domain': { type: 'string', default: defaults.trustDomain, help: 'Trust domain for the Dapr control plane' },
    'trust-anchors-file': { type: 'string', default: defaults.trustAnchorsFile, help: 'Filepath to the trust anchors for the Dapr control plane' },
    'sentry-address': { type: 'string', default: `dapr-sentry.${namespace}.svc:443`, help: 'Address of the Sentry service' },
    mode: { type: 'string', default: 'standalone', help: 'Runtime mode for Placement' },
    'max-api-level': { type: 'int', default: 10, help: 'Deprecated: has no effect', hidden: true },
    'min-api-level': { type: 'int', default: 0, help: 'Deprecated: has no effect', hidden: true },
    kubeconfig: { ...kubeconfigFlagSpec('empty'), help: 'tapr: kubeconfig for the leader Lease (HA); default KUBECONFIG, in-cluster, ~/.kube/config' },
    'leader-lease-duration': { type: 'duration', default: defaults.leaseDurationMs, help: 'tapr: how long followers wait for an unrenewed Lease' },
    'leader-renew-deadline': { type: 'duration', default: defaults.leaseRenewDeadlineMs, help: 'tapr: the leader exits if it cannot renew for this long' },
    'leader-retry-period': { type: 'duration', default: defaults.leaseRetryPeriodMs, help: 'tapr: interval of Lease renewals and follower polls' },
    'settle-quiet-period': {
      type: 'duration',
      default: defaults.settleQuietMs,
      help: 'tapr: a new leader with no record of the previous membership disseminates once no sidecar has connected for this long',
    },
    'settle-timeout': { type: 'duration', default: defaults.settleTimeoutMs, help: 'tapr: the longest a new leader waits for sidecars before disseminating' },
    'dissemination-batch-quiet-period': {
      type: 'duration',
      default: defaults.batchQuietMs,
      help: 'tapr: a round starts once membership has not changed for this long (0 with a 0 max delay = a round per change, as Dapr)',
    },
    'dissemination-batch-max-delay': {
      type: 'duration',
      default: defaults.batchMaxDelayMs,
      help: 'tapr: the longest a membership change waits for its round',
    },
    'stream-send-timeout': {
      type: 'duration',
      default: defaults.sendStallTimeoutMs,
      help: 'tapr: a stream whose pending orders make no progress this long (the sidecar stopped reading) is dropped',
    },
    'max-actor-types-per-host': { type: 'int', default: defaultMaxActorTypesPerHost, help: 'tapr: most actor types one host may report' },
    'table-host-fields': {
      type: 'string',
      default: 'full',
      help: 'tapr: what each host in a table carries: full (its whole report, as Dapr) or routing (name, id, port, load: all daprd reads; smaller tables)',
    },
  } as const;
}

export interface Peer {
  id: string;
  address: string;
}

export type ElectionMode = 'single' | 'lease';

/** The common flags (spec §11.2); `metricsListenAddress` is read but ignored (metrics bind `listenAddress`). */
export interface PlacementOptions extends CommonOptions {
  id: string;
  peers: Peer[];
  /** 'lease' when --initial-cluster names more than one peer (HA); else this instance is the only one. */
  election: ElectionMode;
  port: number;
  listenAddress: string;
  tlsEnabled: boolean;
  metadataEnabled: boolean;
  replicationFactor: number;
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
  disseminateTimeoutMs: number;
  trustDomain: string;
  trustAnchorsFile: string;
  sentryAddress: string;
  mode: string;
  kubeconfig: string;
  leaseDurationMs: number;
  leaseRenewDeadlineMs: number;
  leaseRetryPeriodMs: number;
  settleQuietMs: number;
  settleTimeoutMs: number;
  batchQuietMs: number;
  batchMaxDelayMs: number;
  sendStallTimeoutMs: number;
  maxBufferedBytes: number;
  writeBudgetBytes: number;
  maxActorTypesPerHost: number;
  tableHostFields: TableHostFields;
  /** NAMESPACE: the control-plane namespace (Lease, sentry requests). */
  namespace: string;
  /** Token for sentry, when one exists (DAPR_SENTRY_TOKEN_FILE, projected token, SA token). */
  sentryTokenFile: string | undefined;
  /** SENTRY_LOCAL_IDENTITY: replaces the app ID in the sign request. */
  sentryLocalIdentity: string | undefined;
  /** Notices to log once the logger exists (deprecated or ignored flags). */
  notices: string[];
  env: NodeJS.ProcessEnv;
}

export interface OptionsEnvironment {
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  fileExists?: (file: string) => boolean;
}

export function readOptions({ argv, env, fileExists = existsSync }: OptionsEnvironment): PlacementOptions {
  const { values, set } = parseFlags(flagSpecs(env), argv, {
    program: 'placement',
    dialect: 'pflag',
    summary: 'tapr placement service (Dapr-compatible actor placement)',
  });
  const notices: string[] = [];
  for (const flag of ['max-api-level', 'min-api-level'] as const) {
    if (set.has(flag)) notices.push(`Flag --${flag} has been deprecated, this flag will be removed in future releases`);
  }
  for (const flag of ['inmem-store-enabled', 'raft-logstore-path'] as const) {
    if (set.has(flag)) notices.push(`--${flag} is accepted for compatibility and ignored: tapr keeps no Raft log`);
  }
  if (set.has('metrics-listen-address')) notices.push('--metrics-listen-address is ignored, as in Dapr: metrics listen on --listen-address');

  const peers = parsePeers(values['initial-cluster']);
  const election: ElectionMode = peers.length > 1 ? 'lease' : 'single';
  if (election === 'lease' && !peers.some((peer) => peer.id === values.id)) {
    notices.push(`--id ${values.id} is not among the --initial-cluster peers (${peers.map((p) => p.id).join(', ')}); it still takes part in the election`);
  }

  const options: PlacementOptions = {
    ...readCommonOptions(values),
    id: values.id,
    peers,
    election,
    port: values.port,
    listenAddress: values['listen-address'],
    tlsEnabled: values['tls-enabled'],
    metadataEnabled: values['metadata-enabled'],
    replicationFactor: values.replicationFactor,
    keepaliveTimeMs: values['keepalive-time'],
    keepaliveTimeoutMs: values['keepalive-timeout'],
    disseminateTimeoutMs: values['disseminate-timeout'],
    trustDomain: values['trust-domain'],
    trustAnchorsFile: values['trust-anchors-file'],
    sentryAddress: values['sentry-address'],
    mode: values.mode,
    kubeconfig: values.kubeconfig,
    leaseDurationMs: values['leader-lease-duration'],
    leaseRenewDeadlineMs: values['leader-renew-deadline'],
    leaseRetryPeriodMs: values['leader-retry-period'],
    settleQuietMs: values['settle-quiet-period'],
    settleTimeoutMs: values['settle-timeout'],
    batchQuietMs: values['dissemination-batch-quiet-period'],
    batchMaxDelayMs: values['dissemination-batch-max-delay'],
    sendStallTimeoutMs: values['stream-send-timeout'],
    maxBufferedBytes: defaults.maxBufferedBytes,
    writeBudgetBytes: defaults.writeBudgetBytes,
    maxActorTypesPerHost: values['max-actor-types-per-host'],
    tableHostFields: values['table-host-fields'] as TableHostFields,
    namespace: env['NAMESPACE'] || 'default',
    sentryTokenFile: sentryTokenFile(env, values.mode, fileExists),
    sentryLocalIdentity: env['SENTRY_LOCAL_IDENTITY'] || undefined,
    notices,
    env,
  };
  validate(options);
  return options;
}

/** Checks values the flag parser cannot; the error names the flag. Exits 1 through readOptionsOrExit. */
function validate(options: PlacementOptions): void {
  for (const [flag, value] of [['keepalive-time', options.keepaliveTimeMs], ['keepalive-timeout', options.keepaliveTimeoutMs]] as const) {
    if (value < defaults.keepaliveMinMs || value > defaults.keepaliveMaxMs) {
      throw new Error(`invalid value for ${flag}: value should be between 1s and 10s, got ${value / 1000}s`);
    }
  }
  checkPort(options.port, '--port');
  if (options.replicationFactor <= 0) throw new Error(`--replicationFactor must be positive, got ${options.replicationFactor}`);
  if (options.disseminateTimeoutMs <= 0) throw new Error('--disseminate-timeout must be positive');
  if (options.maxActorTypesPerHost <= 0) throw new Error('--max-actor-types-per-host must be positive');
  if (options.tableHostFields !== 'full' && options.tableHostFields !== 'routing') {
    throw new Error(`--table-host-fields: "${options.tableHostFields}" is not one of full, routing`);
  }
  if (options.batchQuietMs < 0 || options.batchMaxDelayMs < 0) throw new Error('--dissemination-batch-* durations must not be negative');
  if (options.batchQuietMs > options.batchMaxDelayMs) {
    throw new Error('--dissemination-batch-quiet-period must not exceed --dissemination-batch-max-delay');
  }
  if (options.sendStallTimeoutMs <= 0) throw new Error('--stream-send-timeout must be positive');
  if (options.election === 'lease') {
    if (!(options.leaseDurationMs > options.leaseRenewDeadlineMs && options.leaseRenewDeadlineMs > options.leaseRetryPeriodMs)) {
      throw new Error('--leader-lease-duration must exceed --leader-renew-deadline, which must exceed --leader-retry-period');
    }
    if (options.leaseDurationMs < 1000) throw new Error('--leader-lease-duration must be at least 1s (a Lease counts whole seconds)');
  }
}

/** Dapr's parsing of --initial-cluster: `id=address` items; malformed items are dropped. */
export function parsePeers(items: readonly string[]): Peer[] {
  return items
    .map((item) => item.split('='))
    .filter((parts) => parts.length === 2)
    .map(([id, address]) => ({ id: id!.trim(), address: address!.trim() }));
}

/** dapr/kit's IsTruthy: y, yes, true, t, on, 1 (any case). */
function isTruthy(value: string | undefined): boolean {
  return value !== undefined && ['y', 'yes', 'true', 't', 'on', '1'].includes(value.trim().toLowerCase());
}

