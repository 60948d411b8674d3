import { readOptions } from './options.js';

const read = (argv: string[], env: NodeJS.ProcessEnv = {}) => readOptions({ argv, env, fileExists: () => false });

describe('scheduler options', () => {
  it('default to Dapr’s', () => {
    const options = read([]);
    expect(options).toMatchObject({ port: 50006, healthzPort: 8080, metricsPort: 9090, id: 'dapr-scheduler-server-0', tlsEnabled: false, mode: 'standalone' });
    expect(options.etcd).toMatchObject({
      embed: true,
      initialCluster: ['dapr-scheduler-server-0=http://localhost:2380'],
      clientPort: 2379,
      clientListenAddress: 'localhost',
      dataDir: './data',
      backendBatchIntervalMs: 50,
      binary: 'etcd',
    });
    expect(options.sentryAddress).toBe('dapr-sentry.default.svc:443');
    expect(options.etcd.spaceQuotaBytes).toBeGreaterThan(9e18);
  });

  it('read Helm’s spellings: spaced values, bare booleans, kubernetes mode forcing mTLS', () => {
    const options = read(
      ['--listen-address=0.0.0.0', '--id', 'dapr-scheduler-server-1', '--etcd-initial-cluster', 'dapr-scheduler-server-0=https://a:2380,dapr-scheduler-server-1=https://b:2380', '--tls-enabled', '--trust-anchors-file=/ca.crt', '--mode=kubernetes', '--workers=2048'],
      { NAMESPACE: 'dapr-system', TAPR_ETCD_BINARY: '/opt/etcd' },
    );
    expect(options).toMatchObject({ id: 'dapr-scheduler-server-1', tlsEnabled: true, namespace: 'dapr-system', sentryAddress: 'dapr-sentry.dapr-system.svc:443' });
    expect(options.etcd.initialCluster).toHaveLength(2);
    expect(options.etcd.binary).toBe('/opt/etcd');
    expect(read(['--mode=kubernetes', '--trust-anchors-file=/ca.crt']).tlsEnabled).toBe(true);
  });

  it.each([
    [['--kubeconfig=/k'], /--kubeconfig requires --mode=kubernetes/],
    [['--etcd-client-endpoints=http://x:2379'], /need --etcd-embed=false/],
    [['--etcd-embed=false'], /--etcd-embed=false needs --etcd-client-endpoints/],
    [['--tls-enabled'], /trust anchors are required/],
    [['--workers=0'], /--workers must be greater than 0/],
    [['--etcd-space-quota=x'], /failed to parse etcd space quota/],
    [['--etcd-backend-batch-interval=soon'], /--etcd-backend-batch-interval/],
    [['--id=other'], /--id other is not in --etcd-initial-cluster/],
  ])('refuse %j, naming the flag', (argv, message) => {
    expect(() => read(argv)).toThrow(message);
  });

  it('need no member entry for the own id with an external etcd', () => {
    expect(read(['--id=x', '--etcd-embed=false', '--etcd-client-endpoints=http://e:2379']).etcd.clientEndpoints).toEqual(['http://e:2379']);
  });
});
