import { FlagError, HelpRequested } from '@tapr/lib';
import { readOptions } from './options.js';

const read = (argv: string[], env: NodeJS.ProcessEnv = {}) => readOptions({ argv, env: { HOME: '/home/u', ...env }, cpus: 2 });

describe('sentry options', () => {
  describe('when no flags are given', () => {
    it('uses Dapr\'s defaults', () => {
      const options = read([]);
      expect(options).toMatchObject({
        mode: 'standalone',
        config: 'daprsystem',
        trustDomain: 'localhost',
        namespace: 'default',
        port: 50001,
        healthzPort: 8080,
        metricsPort: 9090,
        enableMetrics: true,
        kubeconfig: '/home/u/.kube/config',
        kubeconfigGiven: false,
        issuerFiles: {
          trustAnchors: '/var/run/secrets/dapr.io/credentials/ca.crt',
          issuerChain: '/var/run/secrets/dapr.io/credentials/issuer.crt',
          issuerKey: '/var/run/secrets/dapr.io/credentials/issuer.key',
        },
        signingWorkers: 2,
      });
    });
  });

  describe('when started the way Dapr\'s test framework starts sentry', () => {
    it('accepts single-dash flags with =values', () => {
      const options = read(
        [
          '-log-level=info', '-port=4001', '-issuer-ca-filename=ca.crt', '-issuer-certificate-filename=issuer.crt', '-issuer-key-filename=issuer.key',
          '-metrics-port=4002', '-metrics-listen-address=127.0.0.1', '-healthz-port=4003', '-healthz-listen-address=127.0.0.1',
          '-listen-address=127.0.0.1', '-issuer-credentials=/tmp/creds', '-config=/tmp/sentry.yaml', '-trust-domain=integration.test.dapr.io', '-mode=kubernetes',
          '-kubeconfig=/tmp/kubeconfig',
        ],
        { NAMESPACE: 'sentrynamespace', KUBERNETES_SERVICE_HOST: 'anything' },
      );
      expect(options).toMatchObject({
        port: 4001,
        metricsPort: 4002,
        healthzPort: 4003,
        listenAddress: '127.0.0.1',
        mode: 'kubernetes',
        trustDomain: 'integration.test.dapr.io',
        namespace: 'sentrynamespace',
        kubeconfig: '/tmp/kubeconfig',
        kubeconfigGiven: true,
        issuerFiles: { trustAnchors: '/tmp/creds/ca.crt', issuerChain: '/tmp/creds/issuer.crt', issuerKey: '/tmp/creds/issuer.key' },
      });
    });

    it('uses absolute issuer file names as they are', () => {
      expect(read(['--issuer-key-filename', '/keys/k.pem']).issuerFiles.issuerKey).toBe('/keys/k.pem');
    });
  });

  describe('when a value is wrong', () => {
    it.each([
      [['--mode', 'cloud'], '--mode: "cloud" is not one of kubernetes, standalone'],
      [['--log-level', 'loud'], '--log-level: "loud" is not one of'],
      [['--metrics-port', 'http'], '--metrics-port: "http" is not a port number'],
      [['--trust-domain', 'Bad Domain'], 'is not a valid SPIFFE trust domain'],
      [['--jwt-enabled'], 'JWT issuing is not supported by tapr sentry yet'],
      [['--root-cert-ttl', '0s'], '--root-cert-ttl must be a positive duration'],
    ])('refuses %p', (argv, message) => {
      expect(() => read(argv)).toThrow(message);
    });

    it('requires a namespace in kubernetes mode', () => {
      expect(() => read(['--mode', 'kubernetes'], { NAMESPACE: '' })).toThrow('NAMESPACE must not be empty in kubernetes mode');
    });

    it('reports unknown flags as usage errors and --help as help', () => {
      expect(() => read(['--no-such-flag'])).toThrow(FlagError);
      expect(() => read(['--help'])).toThrow(HelpRequested);
    });
  });
});
