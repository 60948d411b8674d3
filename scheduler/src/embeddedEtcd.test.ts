import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger, silentLogger } from '@tapr/lib/logger';
import { PassThrough } from 'node:stream';
import {
  EmbeddedEtcd,
  clientUrl,
  etcdArgs,
  etcdDir,
  existingClusterMarker,
  memberPeerUrl,
  prepareDataDir,
  quotaBackendBytes,
  type EmbeddedEtcdOptions,
} from './embeddedEtcd.js';
import { readOptions } from './options.js';

/** Dapr 1.17's defaults (spec §1.2), as options.ts passes them with no flags given. */
function options(overrides: Partial<EmbeddedEtcdOptions> = {}): EmbeddedEtcdOptions {
  const defaults = readOptions({ argv: [], env: {}, fileExists: () => false });
  return { ...defaults.etcd, id: defaults.id, mode: defaults.mode, namespace: defaults.namespace, logger: silentLogger(), ...overrides };
}

/** The arguments as a map from flag to value (each flag appears once). */
function flags(args: string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const arg of args) {
    const match = /^--([a-z-]+)=(.*)$/s.exec(arg);
    if (!match) throw new Error(`not --flag=value: ${arg}`);
    expect(map.has(match[1]!)).toBe(false);
    map.set(match[1]!, match[2]!);
  }
  return map;
}

const haCluster = [
  'dapr-scheduler-server-0=https://dapr-scheduler-server-0.dapr-scheduler-server.dapr-system.svc.cluster.local:2380',
  'dapr-scheduler-server-1=https://dapr-scheduler-server-1.dapr-scheduler-server.dapr-system.svc.cluster.local:2380',
  'dapr-scheduler-server-2=https://dapr-scheduler-server-2.dapr-scheduler-server.dapr-system.svc.cluster.local:2380',
];

describe('etcdArgs', () => {
  describe('with Dapr’s defaults', () => {
    const args = flags(etcdArgs(options(), '/d/default-dapr-scheduler-server-0/dapr-0.1'));

    it('names the member after --id and uses the given data dir', () => {
      expect(args.get('name')).toBe('dapr-scheduler-server-0');
      expect(args.get('data-dir')).toBe('/d/default-dapr-scheduler-server-0/dapr-0.1');
    });

    it('bootstraps a new static cluster from --etcd-initial-cluster with etcd’s default token', () => {
      expect(args.get('initial-cluster')).toBe('dapr-scheduler-server-0=http://localhost:2380');
      expect(args.get('initial-cluster-state')).toBe('new');
      expect(args.get('initial-cluster-token')).toBe('etcd-cluster');
    });

    it('listens for peers and clients on localhost, clients over plain http', () => {
      expect(args.get('initial-advertise-peer-urls')).toBe('http://localhost:2380');
      expect(args.get('listen-peer-urls')).toBe('http://localhost:2380');
      expect(args.get('listen-client-urls')).toBe('http://localhost:2379');
      expect(args.get('advertise-client-urls')).toBe('http://localhost:2379');
    });

    it('maps the tuning flags to etcd 3.6’s spellings', () => {
      expect(Object.fromEntries(args)).toMatchObject({
        'quota-backend-bytes': '-1',
        'auto-compaction-mode': 'periodic',
        'auto-compaction-retention': '10m',
        'snapshot-count': '10000',
        'max-snapshots': '10',
        'max-wals': '10',
        'backend-batch-limit': '5000',
        'backend-batch-interval': '50ms',
        'bootstrap-defrag-threshold-megabytes': '100',
        'initial-election-tick-advance': 'false',
        metrics: 'basic',
        'max-request-bytes': '2147483647',
        'warning-apply-duration': '5s',
      });
    });

    it('has no TLS flags and logs warnings and errors only to stderr', () => {
      expect([...args.keys()].filter((name) => name.startsWith('peer-'))).toEqual([]);
      expect(args.get('log-outputs')).toBe('stderr');
      expect(args.get('log-level')).toBe('warn');
    });
  });

  it('lets etcd log at info when the logger is at debug', () => {
    const logger = createLogger({ scope: 'test', level: 'debug', stream: new PassThrough() });
    expect(flags(etcdArgs(options({ logger }), '/d')).get('log-level')).toBe('info');
  });

  describe('the peer listener', () => {
    it.each([
      ['an IPv4 address stays', 'standalone', 'http://127.0.0.1:2380', 'http://127.0.0.1:2380'],
      ['an IPv6 address stays', 'standalone', 'http://[::1]:2380', 'http://[::1]:2380'],
      ['localhost stays', 'standalone', 'http://localhost:2380', 'http://localhost:2380'],
      ['a host name becomes 0.0.0.0', 'standalone', 'http://scheduler-0.example:2380', 'http://0.0.0.0:2380'],
      ['kubernetes mode listens on 0.0.0.0 even for an IP', 'kubernetes', 'https://10.0.0.5:2381', 'https://0.0.0.0:2381'],
      ['kubernetes mode listens on 0.0.0.0 for localhost', 'kubernetes', 'http://localhost:2380', 'http://0.0.0.0:2380'],
    ])('%s', (_case, mode, url, listen) => {
      const args = flags(etcdArgs(options({ mode, initialCluster: [`dapr-scheduler-server-0=${url}`] }), '/d'));
      expect(args.get('listen-peer-urls')).toBe(listen);
      expect(args.get('initial-advertise-peer-urls')).toBe(url);
    });

    it('takes this member’s entry of several and advertises it exactly as written', () => {
      const args = flags(etcdArgs(options({ id: 'dapr-scheduler-server-1', mode: 'kubernetes', initialCluster: haCluster }), '/d'));
      expect(args.get('initial-advertise-peer-urls')).toBe(haCluster[1]!.split('=')[1]);
      expect(args.get('listen-peer-urls')).toBe('https://0.0.0.0:2380');
      expect(args.get('initial-cluster')).toBe(haCluster.join(','));
    });
  });

  describe('the client listener', () => {
    it.each([
      ['localhost', 'http://localhost:2379'],
      ['127.0.0.1', 'http://127.0.0.1:2379'],
      ['0.0.0.0', 'http://0.0.0.0:2379'],
      ['::1', 'http://[::1]:2379'],
    ])('on %s is %s, also in kubernetes mode and with TLS', (address, url) => {
      const opts = options({ clientListenAddress: address, mode: 'kubernetes', tlsDir: '/tls' });
      const args = flags(etcdArgs(opts, '/d'));
      expect(args.get('listen-client-urls')).toBe(url);
      expect(args.get('advertise-client-urls')).toBe(url);
      expect(clientUrl(opts)).toBe(url);
    });
  });

  it('with a TLS dir, authenticates peers by the scheduler’s certificate and allows the given host names', () => {
    const args = flags(
      etcdArgs(options({ initialCluster: haCluster, tlsDir: '/tmp/tls', peerAllowedHostnames: ['a.example', 'b.example'] }), '/d'),
    );
    expect(Object.fromEntries([...args].filter(([name]) => name.startsWith('peer-')))).toEqual({
      'peer-cert-file': '/tmp/tls/cert.pem',
      'peer-key-file': '/tmp/tls/key.pem',
      'peer-trusted-ca-file': '/tmp/tls/ca.pem',
      'peer-client-cert-auth': 'true',
      'peer-cert-allowed-hostname': 'a.example,b.example',
    });
  });

  it('writes a fractional batch interval in nanoseconds', () => {
    expect(flags(etcdArgs(options({ backendBatchIntervalMs: 0.25 }), '/d')).get('backend-batch-interval')).toBe('250000ns');
  });
});

describe('quotaBackendBytes', () => {
  it.each([
    ['keeps 0 (etcd’s default of 2 GiB)', 0, '0'],
    ['keeps 2Gi', 2 * 2 ** 30, '2147483648'],
    ['keeps 16Gi although etcd warns above 8 GiB', 16 * 2 ** 30, '17179869184'],
    ['keeps 1 TiB', 2 ** 40, '1099511627776'],
    ['drops the fraction', 1000.7, '1000'],
    ['turns 2 TiB into no quota', 2 ** 41, '-1'],
    ['turns Dapr’s default 9.2E into no quota', 9.2e18, '-1'],
    ['turns Infinity into no quota', Infinity, '-1'],
  ])('%s', (_case, bytes, passed) => {
    expect(quotaBackendBytes(bytes)).toBe(passed);
  });

  it('refuses NaN', () => {
    expect(() => quotaBackendBytes(NaN)).toThrow('not a number');
  });
});

describe('memberPeerUrl', () => {
  it('names both flags and lists the cluster when --id is not in it', () => {
    expect(() => memberPeerUrl({ id: 'dapr-scheduler-server-3', initialCluster: haCluster })).toThrow(
      `--id dapr-scheduler-server-3 is not in --etcd-initial-cluster (${haCluster.join(', ')})`,
    );
  });

  it.each([
    ['has no scheme', 'dapr-scheduler-server-0=localhost:2380', 'must be http://<host>:<port>'],
    ['has another scheme', 'dapr-scheduler-server-0=unix://x:1', 'must be http://<host>:<port>'],
    ['has no port', 'dapr-scheduler-server-0=http://localhost', 'must be http://<host>:<port>'],
    ['is not name=URL', 'http://localhost:2380', 'is not <id>=<URL>'],
  ])('refuses an item that %s', (_case, item, message) => {
    expect(() => memberPeerUrl({ id: 'dapr-scheduler-server-0', initialCluster: [item] })).toThrow(message);
  });

  it('makes the constructor throw, before anything starts', () => {
    expect(() => new EmbeddedEtcd(options({ id: 'other' }))).toThrow('--id other is not in --etcd-initial-cluster');
  });
});

describe('EmbeddedEtcd', () => {
  it('dials the client listener', () => {
    expect(new EmbeddedEtcd(options({ clientPort: 32379, clientListenAddress: '127.0.0.1' })).clientEndpoint).toBe('http://127.0.0.1:32379');
  });

  it('rejects run() and whenReady() when the binary cannot be started', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'tapr-etcd-unit-'));
    try {
      const etcd = new EmbeddedEtcd(options({ binary: path.join(dataDir, 'no-such-etcd'), dataDir }));
      const ready = etcd.whenReady();
      await expect(etcd.run(new AbortController().signal)).rejects.toThrow('cannot start etcd');
      await expect(ready).rejects.toThrow('cannot start etcd');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('stops waiting for readiness when the caller’s signal aborts', async () => {
    const etcd = new EmbeddedEtcd(options());
    const controller = new AbortController();
    const waiting = etcd.whenReady(controller.signal);
    controller.abort();
    await expect(waiting).rejects.toThrow('stopped waiting');
  });
});

describe('prepareDataDir', () => {
  let dataDir: string;
  beforeEach(() => (dataDir = mkdtempSync(path.join(tmpdir(), 'tapr-etcd-unit-'))));
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));
  const ids = { mode: 'standalone', namespace: 'dapr-system', id: 'dapr-scheduler-server-1' };

  it('puts etcd in <data-dir>/<namespace>-<id>/dapr-0.1, or <data-dir>/dapr-0.1 in kubernetes mode', () => {
    expect(etcdDir({ ...ids, dataDir: '/data' })).toBe('/data/dapr-system-dapr-scheduler-server-1/dapr-0.1');
    expect(etcdDir({ ...ids, mode: 'kubernetes', dataDir: '/data' })).toBe('/data/dapr-0.1');
  });

  it('without the marker, empties the etcd dir, makes it 0700 and writes the marker', async () => {
    const dir = etcdDir({ ...ids, dataDir });
    mkdirSync(path.join(dir, 'member', 'wal'), { recursive: true, mode: 0o755 });
    writeFileSync(path.join(dir, 'stale'), 'x');
    await expect(prepareDataDir({ ...ids, dataDir })).resolves.toBe(dir);
    expect(readdirSync(dir)).toEqual([]);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(existsSync(path.join(dataDir, existingClusterMarker))).toBe(true);
  });

  it('creates the data dir itself when it does not exist', async () => {
    const nested = path.join(dataDir, 'a', 'b');
    const dir = await prepareDataDir({ ...ids, mode: 'kubernetes', dataDir: nested });
    expect(dir).toBe(path.join(nested, 'dapr-0.1'));
    expect(existsSync(path.join(nested, existingClusterMarker))).toBe(true);
  });

  it('with the marker, keeps the data', async () => {
    const dir = etcdDir({ ...ids, dataDir });
    mkdirSync(path.join(dir, 'member'), { recursive: true });
    writeFileSync(path.join(dataDir, existingClusterMarker), '');
    await prepareDataDir({ ...ids, dataDir });
    expect(readdirSync(dir)).toEqual(['member']);
  });
});
