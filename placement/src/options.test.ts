import { readOptions, parsePeers } from './options.js';

const read = (argv: string[], env: NodeJS.ProcessEnv = {}, fileExists: (file: string) => boolean = () => false) => readOptions({ argv, env, fileExists });

describe('readOptions', () => {
  describe('when no flags are given', () => {
    it('uses Dapr 1.17’s defaults', () => {
      const options = read([]);
      expect(options).toMatchObject({
        id: 'dapr-placement-0',
        peers: [{ id: 'dapr-placement-0', address: '127.0.0.1:8201' }],
        election: 'single',
        port: 50005,
        healthzPort: 8080,
        metricsPort: 9090,
        replicationFactor: 100,
        keepaliveTimeMs: 2000,
        keepaliveTimeoutMs: 3000,
        disseminateTimeoutMs: 8000,
        tlsEnabled: false,
        metadataEnabled: false,
        trustDomain: 'localhost',
        trustAnchorsFile: '/var/run/secrets/dapr.io/tls/ca.crt',
        sentryAddress: 'dapr-sentry.default.svc:443',
        mode: 'standalone',
        namespace: 'default',
        sentryTokenFile: undefined,
        tableHostFields: 'full',
      });
    });

    it('takes the sentry address namespace and metadata default from the environment', () => {
      const options = read([], { NAMESPACE: 'dapr-system', DAPR_PLACEMENT_METADATA_ENABLED: 'Yes' });
      expect(options.sentryAddress).toBe('dapr-sentry.dapr-system.svc:443');
      expect(options.metadataEnabled).toBe(true);
    });
  });

  describe('when given Helm’s HA arguments', () => {
    const argv = [
      '--id', 'dapr-placement-server-1',
      '--initial-cluster', 'dapr-placement-server-0=dapr-placement-server-0.dapr-placement-server.dapr-system.svc.cluster.local:8201,dapr-placement-server-1=dapr-placement-server-1.dapr-placement-server.dapr-system.svc.cluster.local:8201,dapr-placement-server-2=dapr-placement-server-2.dapr-placement-server.dapr-system.svc.cluster.local:8201',
      '--raft-logstore-path', '/var/run/dapr/raft-log',
      '--replicationFactor=100', '--keepalive-time', '2s', '--keepalive-timeout', '3s', '--disseminate-timeout', '2s',
      '--tls-enabled', '--mode=kubernetes', '--max-api-level=10', '--min-api-level=0', '--enable-metrics', '--metrics-port', '9090',
    ];

    it('elects with a Lease and notes the flags that have no effect', () => {
      const options = read(argv, { NAMESPACE: 'dapr-system' }, (file) => file === '/var/run/secrets/dapr.io/sentrytoken/token');
      expect(options.election).toBe('lease');
      expect(options.peers.map((p) => p.id)).toEqual(['dapr-placement-server-0', 'dapr-placement-server-1', 'dapr-placement-server-2']);
      expect(options.tlsEnabled).toBe(true);
      expect(options.disseminateTimeoutMs).toBe(2000);
      expect(options.sentryTokenFile).toBe('/var/run/secrets/dapr.io/sentrytoken/token');
      expect(options.notices.join('\n')).toMatch(/--max-api-level has been deprecated/);
      expect(options.notices.join('\n')).toMatch(/--raft-logstore-path is accepted for compatibility and ignored/);
    });
  });

  describe('when given the single-dash spellings of Dapr’s test framework', () => {
    it('parses them like pflag', () => {
      const options = read(['-log-level=debug', '-id=abc', '-port=1234', '-tls-enabled=false', '-metadata-enabled=true', '-initial-cluster=abc=127.0.0.1:9999']);
      expect(options).toMatchObject({ logLevel: 'debug', id: 'abc', port: 1234, tlsEnabled: false, metadataEnabled: true, election: 'single' });
    });
  });

  describe('when a value is out of range', () => {
    it.each([
      [['--keepalive-time=500ms'], 'invalid value for keepalive-time: value should be between 1s and 10s, got 0.5s'],
      [['--keepalive-timeout=11s'], 'invalid value for keepalive-timeout: value should be between 1s and 10s, got 11s'],
      [['--replicationFactor=0'], '--replicationFactor must be positive, got 0'],
      [['--metrics-port=abc'], '--metrics-port: "abc" is not a port number'],
      [['--log-level=verbose'], '--log-level: "verbose" is not one of debug, info, warn, error, fatal'],
      [['--table-host-fields=some'], '--table-host-fields: "some" is not one of full, routing'],
      [['--dissemination-batch-quiet-period=3s'], '--dissemination-batch-quiet-period must not exceed --dissemination-batch-max-delay'],
      [['--initial-cluster=a=x:1,b=y:1', '--leader-renew-deadline=5s'], '--leader-lease-duration must exceed --leader-renew-deadline, which must exceed --leader-retry-period'],
    ])('refuses %j', (argv, message) => {
      expect(() => read(argv)).toThrow(message);
    });

    it('refuses an unknown flag as a usage error', () => {
      expect(() => read(['--no-such-flag'])).toThrow(expect.objectContaining({ exitCode: 2 }));
    });
  });
});

describe('parsePeers', () => {
  it('keeps id=address items and drops malformed ones, as Dapr does', () => {
    expect(parsePeers(['a=1.2.3.4:8201', 'broken', 'b = host:1 ', 'c=x=y'])).toEqual([
      { id: 'a', address: '1.2.3.4:8201' },
      { id: 'b', address: 'host:1' },
    ]);
  });
});
