import { clusterDomainFromResolvConf, readOptions } from './options.js';

const env = { SIDECAR_IMAGE: 'ghcr.io/dapr/daprd:1.17.0', NAMESPACE: 'dapr-system', HOME: '/home/x' };
const read = (argv: string[] = [], extra: NodeJS.ProcessEnv = {}, files: string[] = []) =>
  readOptions({ argv, env: { ...env, ...extra }, fileExists: (f) => files.includes(f), readFile: () => undefined });

describe('readOptions', () => {
  describe('with only the required env', () => {
    it("uses Dapr's defaults", () => {
      const o = read();
      expect(o).toMatchObject({
        port: 4000,
        healthzPort: 8080,
        metricsPort: 9090,
        enableMetrics: true,
        logLevel: 'info',
        certSource: 'self-managed',
        webhookConfigurationName: 'dapr-sidecar-injector',
        trustAnchorsFile: '/var/run/dapr.io/tls/ca.crt',
        controlPlaneTrustDomain: 'cluster.local',
        kubeconfig: '/home/x/.kube/config',
        kubeconfigGiven: false,
      });
      expect(o.sidecar).toMatchObject({
        imagePullPolicy: 'Always',
        kubeClusterDomain: 'cluster.local',
        placementAddress: 'dapr-placement-server.dapr-system.svc.cluster.local:50005',
        schedulerEnabled: true,
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        dropAllCapabilities: false,
        tokenVolume: false,
      });
      expect(o.allowedServiceAccounts).toContainEqual({ namespace: 'kube-system', name: 'replicaset-controller' });
      expect(o.servingDnsNames).toContain('dapr-sidecar-injector.dapr-system.svc');
    });
  });

  describe("with the Dapr integration framework's single-dash flags", () => {
    it('reads them', () => {
      const o = read(['-log-level=debug', '-port=1234', '-metrics-port=5678', '-healthz-port', '9999', '-listen-address=127.0.0.1', '-kubeconfig=/k'], {
        DAPR_SENTRY_ADDRESS: 'localhost:50001',
      });
      expect(o).toMatchObject({ logLevel: 'debug', port: 1234, metricsPort: 5678, healthzPort: 9999, kubeconfig: '/k', kubeconfigGiven: true, certSource: 'sentry' });
      expect(o.servingIpAddresses).toEqual(['127.0.0.1']);
      expect(o.servingDnsNames).toContain('localhost');
    });
  });

  describe('with the env Helm sets', () => {
    it('applies it to the sidecar', () => {
      const o = read([], {
        SIDECAR_IMAGE_PULL_POLICY: 'IfNotPresent',
        KUBE_CLUSTER_DOMAIN: 'corp.local',
        ACTORS_ENABLED: 'true',
        ACTORS_SERVICE_NAME: 'actors',
        ACTORS_SERVICE_ADDRESS: 'dapr-actors:9000',
        REMINDERS_SERVICE_NAME: 'reminders',
        REMINDERS_SERVICE_ADDRESS: 'dapr-reminders:9001',
        SIDECAR_RUN_AS_USER: '1000',
        SIDECAR_DROP_ALL_CAPABILITIES: 'true',
        ENABLE_K8S_DOWNWARD_APIS: 'true',
        IGNORE_ENTRYPOINT_TOLERATIONS: '[{"key":"os","value":"windows","effect":"NoSchedule"}]',
      });
      expect(o.sidecar).toMatchObject({
        imagePullPolicy: 'IfNotPresent',
        kubeClusterDomain: 'corp.local',
        placementAddress: undefined,
        actorsService: 'actors:dapr-actors.dapr-system.svc.corp.local:9000',
        remindersService: 'reminders:dapr-reminders.dapr-system.svc.corp.local:9001',
        runAsUser: 1000,
        dropAllCapabilities: true,
        enableK8sDownwardApis: true,
        ignoreEntrypointTolerations: [{ key: 'os', value: 'windows', effect: 'NoSchedule' }],
      });
    });

    it('turns actors off with ACTORS_ENABLED=false and mounts the token when the injector has one', () => {
      const o = read([], { ACTORS_ENABLED: 'false' }, ['/var/run/secrets/kubernetes.io/serviceaccount/token']);
      expect(o.sidecar.placementAddress).toBeUndefined();
      expect(o.sidecar.actorsService).toBeUndefined();
      expect(o.sidecar.tokenVolume).toBe(true);
      expect(o.sentryTokenFile).toBe('/var/run/secrets/kubernetes.io/serviceaccount/token');
    });
  });

  describe('when something is wrong', () => {
    it.each([
      [[], { SIDECAR_IMAGE: '' }, 'SIDECAR_IMAGE is required'],
      [[], { NAMESPACE: '' }, 'NAMESPACE is required'],
      [['--log-level=loud'], {}, '--log-level: "loud"'],
      [['--metrics-port=abc'], {}, '--metrics-port: "abc" is not a port number'],
      [['--cert-source=vault'], {}, '--cert-source: "vault"'],
      [['--cert-source=sentry'], {}, 'needs DAPR_SENTRY_ADDRESS'],
      [['--sidecar-token-volume=maybe'], {}, '--sidecar-token-volume'],
      [[], { IGNORE_ENTRYPOINT_TOLERATIONS: '{' }, 'IGNORE_ENTRYPOINT_TOLERATIONS is not JSON'],
      [[], { ACTORS_SERVICE_NAME: 'actors', ACTORS_SERVICE_ADDRESS: 'nope' }, 'ACTORS_SERVICE_ADDRESS: "nope"'],
      [[], { ALLOWED_SERVICE_ACCOUNTS: 'bad' }, 'ALLOWED_SERVICE_ACCOUNTS: "bad"'],
      [[], { ALLOWED_SERVICE_ACCOUNTS_PREFIX_NAMES: '*:*' }, 'would allow every service account'],
      [[], { SIDECAR_RUN_AS_USER: 'root' }, 'SIDECAR_RUN_AS_USER: "root" is not an integer'],
    ])('%j %j fails with "%s"', (argv, extra, message) => {
      expect(() => read(argv as string[], extra as NodeJS.ProcessEnv)).toThrow(message);
    });

    it('rejects an unknown flag as a usage error (exit 2)', () => {
      expect(() => read(['--no-such-flag'])).toThrow(expect.objectContaining({ exitCode: 2 }));
    });
  });
});

describe('clusterDomainFromResolvConf', () => {
  it("takes the first sorted search domain, as Dapr, else cluster.local", () => {
    expect(clusterDomainFromResolvConf('nameserver 10.0.0.10\nsearch shop.svc.corp.local svc.corp.local corp.local # x\noptions ndots:5\n')).toBe('corp.local');
    expect(clusterDomainFromResolvConf(undefined)).toBe('cluster.local');
  });
});
