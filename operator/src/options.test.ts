import { FlagError, HelpRequested } from '@tapr/lib';
import { parseWatchInterval, readOptions } from './options.js';

const env = { NAMESPACE: 'dapr-system' };

describe('readOptions', () => {
  describe('when given no flags', () => {
    it('uses the defaults of Dapr’s operator binary', () => {
      const options = readOptions({ argv: [], env });
      expect(options).toMatchObject({
        configName: 'daprsystem',
        namespace: 'dapr-system',
        watchdog: { enabled: false },
        maxPodRestartsPerMinute: 20,
        leaderElection: true,
        serviceReconciler: true,
        watchNamespace: '',
        trustAnchorsFile: '/var/run/secrets/dapr.io/tls/ca.crt',
        apiPort: 6500,
        apiListenAddress: '',
        healthzPort: 8080,
        webhookPort: 19443,
        conversionWebhook: true,
        logLevel: 'info',
        logAsJson: false,
        metricsEnabled: true,
        metricsPort: 9090,
        kubeconfig: '',
        sentryTokenFile: undefined,
      });
    });
  });

  describe('when started the way Dapr’s integration framework starts the operator', () => {
    it('accepts single-dash flags with =values', () => {
      const options = readOptions({
        argv: [
          '-log-level=debug',
          '-port=1234',
          '-listen-address=127.0.0.1',
          '-healthz-port=1235',
          '-healthz-listen-address=127.0.0.1',
          '-metrics-port=1236',
          '-metrics-listen-address=127.0.0.1',
          '-trust-anchors-file=/tmp/ca.pem',
          '-disable-leader-election=true',
          '-kubeconfig=/tmp/kubeconfig',
          '-webhook-server-port=1237',
          '-webhook-server-listen-address=127.0.0.1',
        ],
        env: { NAMESPACE: 'default', KUBERNETES_SERVICE_HOST: 'anything' },
      });
      expect(options).toMatchObject({
        logLevel: 'debug',
        apiPort: 1234,
        apiListenAddress: '127.0.0.1',
        healthzPort: 1235,
        metricsPort: 1236,
        trustAnchorsFile: '/tmp/ca.pem',
        leaderElection: false,
        kubeconfig: '/tmp/kubeconfig',
        webhookPort: 1237,
        webhookListenAddress: '127.0.0.1',
      });
    });
  });

  describe('when a positional argument appears', () => {
    it('stops parsing there, as Go’s flag package does', () => {
      const options = readOptions({ argv: ['--port', '7000', 'extra', '--port', '8000'], env });
      expect(options.apiPort).toBe(7000);
    });
  });

  describe('when the environment sets the optional variables', () => {
    it('reads ENABLE_WEBHOOKS in any case, the sentry token file, SENTRY_LOCAL_IDENTITY and POD_NAME', () => {
      const options = readOptions({
        argv: [],
        env: { ...env, ENABLE_WEBHOOKS: 'FALSE', DAPR_SENTRY_TOKEN_FILE: '/t/token', SENTRY_LOCAL_IDENTITY: 'me', POD_NAME: 'operator-0' },
      });
      expect(options.conversionWebhook).toBe(false);
      expect(options.sentryTokenFile).toBe('/t/token');
      expect(options.sentryLocalIdentity).toBe('me');
      expect(options.podName).toBe('operator-0');
    });

    it('falls back to the projected sentry token, then the service-account token', () => {
      const only = (path: string) => (candidate: string) => candidate === path;
      expect(readOptions({ argv: [], env, fileExists: only('/var/run/secrets/dapr.io/sentrytoken/token') }).sentryTokenFile).toBe(
        '/var/run/secrets/dapr.io/sentrytoken/token',
      );
      expect(readOptions({ argv: [], env, fileExists: only('/var/run/secrets/kubernetes.io/serviceaccount/token') }).sentryTokenFile).toBe(
        '/var/run/secrets/kubernetes.io/serviceaccount/token',
      );
    });
  });

  describe('when the input is wrong', () => {
    it('requires NAMESPACE', () => {
      expect(() => readOptions({ argv: [], env: {} })).toThrow(/NAMESPACE/);
    });

    it('rejects an unknown log level and a non-numeric metrics port, naming the flag', () => {
      expect(() => readOptions({ argv: ['--log-level', 'loud'], env })).toThrow(/--log-level/);
      expect(() => readOptions({ argv: ['--metrics-port', 'abc'], env })).toThrow(/--metrics-port/);
    });

    it('reports unknown flags as usage errors (exit 2) and --help as help (exit 0)', () => {
      expect(() => readOptions({ argv: ['--no-such-flag'], env })).toThrow(FlagError);
      expect(() => readOptions({ argv: ['-h'], env })).toThrow(HelpRequested);
    });
  });
});

describe('parseWatchInterval', () => {
  it.each(['0', 'false', 'F', 'no', 'off'])('turns the watchdog off for %s', (text) => {
    expect(parseWatchInterval(text)).toEqual({ enabled: false });
  });

  it('accepts once and durations of at least one second', () => {
    expect(parseWatchInterval('once')).toEqual({ enabled: true, intervalMs: 'once' });
    expect(parseWatchInterval('2m')).toEqual({ enabled: true, intervalMs: 120_000 });
  });

  it('rejects shorter durations and other text', () => {
    expect(() => parseWatchInterval('500ms')).toThrow(/at least 1s/);
    expect(() => parseWatchInterval('soon')).toThrow(/watch-interval/);
  });
});
