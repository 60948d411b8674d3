import { parseFlags } from './flags.js';
import { commonFlagSpecs, kubeconfigFlagSpec, readCommonOptions } from './flagsCommon.js';

const read = (argv: string[], dialect: 'pflag' | 'goflag' = 'pflag') =>
  readCommonOptions(parseFlags(commonFlagSpecs, argv, { program: 'test', dialect }).values);

describe('the flags every Dapr binary has', () => {
  describe('when none is given', () => {
    it("has Dapr's defaults", () => {
      expect(read([])).toEqual({
        logLevel: 'info',
        logAsJson: false,
        logFile: '',
        enableMetrics: true,
        metricsPort: 9090,
        metricsListenAddress: '0.0.0.0',
        healthzPort: 8080,
        healthzListenAddress: '',
      });
    });
  });

  describe('when given in either dialect', () => {
    it('reads them', () => {
      const argv = ['-log-level=debug', '-log-as-json', '--enable-metrics=false', '-metrics-port', '9091', '--healthz-port=0'];
      for (const dialect of ['pflag', 'goflag'] as const) {
        expect(read(argv, dialect)).toMatchObject({ logLevel: 'debug', logAsJson: true, enableMetrics: false, metricsPort: 9091, healthzPort: 0 });
      }
    });
  });

  describe('when a value is wrong', () => {
    it('names the flag', () => {
      expect(() => read(['--log-level=loud'])).toThrow('--log-level: "loud" is not one of debug, info, warn, error, fatal');
      expect(() => read(['--metrics-port=http'])).toThrow('--metrics-port: "http" is not a port number');
      expect(() => read(['--metrics-port=70000'])).toThrow('--metrics-port: "70000" is not a port number');
      expect(() => read(['--healthz-port=-1'])).toThrow('--healthz-port: -1 is not a port number');
    });
  });
});

describe('kubeconfigFlagSpec', () => {
  it("defaults to $HOME/.kube/config for sentry and the injector, and to nothing for the operator", () => {
    expect(kubeconfigFlagSpec('home', { HOME: '/home/u' }).default).toBe('/home/u/.kube/config');
    expect(kubeconfigFlagSpec('empty').default).toBe('');
  });
});
