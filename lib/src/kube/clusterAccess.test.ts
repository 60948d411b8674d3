import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fromKubeconfigFile, loadClusterAccess } from './clusterAccess.js';

describe('loadClusterAccess', () => {
  let dir: string;
  const kubeconfig = (name: string, user: string, cluster = 'certificate-authority: ca.pem\n    server: https://127.0.0.1:6443\n    tls-server-name: cluster.local') => {
    const file = path.join(dir, name);
    writeFileSync(
      file,
      `apiVersion: v1
kind: Config
current-context: ctx
clusters:
- name: c
  cluster:
    ${cluster}
users:
- name: u
  user:
    ${user}
contexts:
- name: ctx
  context: { cluster: c, user: u }
`,
    );
    return file;
  };

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'access-'));
    writeFileSync(path.join(dir, 'ca.pem'), 'CA');
    writeFileSync(path.join(dir, 'client.pem'), 'CERT');
    writeFileSync(path.join(dir, 'client.key'), 'KEY');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe('when --kubeconfig names a file', () => {
    it('reads its current context, with file paths relative to the kubeconfig and the tls-server-name', async () => {
      const file = kubeconfig('flag.yaml', 'client-certificate: client.pem\n    client-key: client.key');
      const access = loadClusterAccess({ kubeconfigFlag: file, env: { KUBECONFIG: '/nowhere' } });
      expect(access.origin).toBe('flag');
      expect(access.server.toString()).toBe('https://127.0.0.1:6443/');
      expect(access.tlsServerName).toBe('cluster.local');
      expect([access.ca?.toString(), access.cert?.toString(), access.key?.toString()]).toEqual(['CA', 'CERT', 'KEY']);
      expect((await access.credentials()).headers).toEqual({});
    });
  });

  describe('when only KUBECONFIG is set', () => {
    it('uses it and sends the token as a bearer header', async () => {
      const file = kubeconfig('env.yaml', 'token: abc');
      const access = loadClusterAccess({ kubeconfigFlag: '', env: { KUBECONFIG: file } });
      expect(access.origin).toBe('KUBECONFIG');
      expect((await access.credentials()).headers).toEqual({ Authorization: 'Bearer abc' });
    });
  });

  describe('when running in a pod', () => {
    it('needs KUBERNETES_SERVICE_HOST and _PORT and a token, and re-reads the token file', async () => {
      const sa = path.join(dir, 'sa');
      mkdirSync(sa);
      writeFileSync(path.join(sa, 'token'), 'pod-token');
      writeFileSync(path.join(sa, 'ca.crt'), 'CLUSTER-CA');
      const home = path.join(dir, 'home');
      const env = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443', HOME: home };
      const access = loadClusterAccess({ kubeconfigFlag: '', env, serviceAccountDir: sa });
      expect(access.origin).toBe('in-cluster');
      expect(access.server.toString()).toBe('https://10.0.0.1/');
      expect(access.ca?.toString()).toBe('CLUSTER-CA');
      expect((await access.credentials()).headers).toEqual({ Authorization: 'Bearer pod-token' });

      // Dapr's test harness sets only the host: that is not in-cluster.
      expect(() => loadClusterAccess({ kubeconfigFlag: '', env: { KUBERNETES_SERVICE_HOST: 'anything', HOME: home }, serviceAccountDir: sa })).toThrow(
        /no Kubernetes configuration found/,
      );
    });
  });

  describe('when several sources are present', () => {
    const setUp = () => {
      const flag = kubeconfig('flag.yaml', 'token: flag', 'server: https://flag:1');
      const env = kubeconfig('env.yaml', 'token: env', 'server: https://env:2');
      const home = path.join(dir, 'home');
      mkdirSync(path.join(home, '.kube'), { recursive: true });
      writeFileSync(path.join(home, '.kube', 'config'), readFileSync(kubeconfig('home.yaml', 'token: home', 'server: https://home:3')));
      const sa = path.join(dir, 'sa');
      mkdirSync(sa);
      writeFileSync(path.join(sa, 'token'), 'pod-token');
      writeFileSync(path.join(sa, 'ca.crt'), 'CLUSTER-CA');
      return { flag, env, home, sa };
    };

    it('prefers --kubeconfig, then KUBECONFIG, then in-cluster, then ~/.kube/config', () => {
      const { flag, env, home, sa } = setUp();
      const pod = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' };
      const origin = (kubeconfigFlag: string, environment: NodeJS.ProcessEnv) => loadClusterAccess({ kubeconfigFlag, env: environment, serviceAccountDir: sa });
      expect(origin(flag, { KUBECONFIG: env, HOME: home, ...pod }).server.host).toBe('flag:1');
      expect(origin('', { KUBECONFIG: env, HOME: home, ...pod }).server.host).toBe('env:2');
      expect(origin('', { HOME: home, ...pod }).origin).toBe('in-cluster');
      expect(origin('', { HOME: home }).server.host).toBe('home:3');
    });

    it('tries in-cluster first when asked (sentry, injector), when host, port and token are all there', () => {
      const { flag, home, sa } = setUp();
      const pod = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443', HOME: home };
      expect(loadClusterAccess({ kubeconfigFlag: flag, env: pod, serviceAccountDir: sa, preferInCluster: true }).origin).toBe('in-cluster');
      expect(loadClusterAccess({ kubeconfigFlag: flag, env: pod, serviceAccountDir: sa, preferInCluster: false }).origin).toBe('flag');
      // Without the token file it is not in-cluster, whatever the preference.
      expect(loadClusterAccess({ kubeconfigFlag: flag, env: pod, serviceAccountDir: path.join(dir, 'none'), preferInCluster: true }).origin).toBe('flag');
    });
  });

  describe('when nothing is found', () => {
    it('names the missing file and its origin', () => {
      expect(() => loadClusterAccess({ kubeconfigFlag: '/nope/config', env: {} })).toThrow('kubeconfig file /nope/config (from --kubeconfig) does not exist');
    });

    it('says every place it looked', () => {
      expect(() => loadClusterAccess({ kubeconfigFlag: '', env: { HOME: path.join(dir, 'empty') } })).toThrow(/--kubeconfig.*KUBECONFIG.*~\/\.kube\/config/);
    });
  });

  describe('when the kubeconfig is unusable', () => {
    it('says which file and why', () => {
      expect(() => fromKubeconfigFile(path.join(dir, 'missing.yaml'))).toThrow(/does not exist/);
      const file = path.join(dir, 'nocontext.yaml');
      writeFileSync(file, 'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n');
      expect(() => fromKubeconfigFile(file)).toThrow(/has no current context/);
      expect(() => fromKubeconfigFile(kubeconfig('oidc.yaml', 'auth-provider: { name: oidc, config: { client-id: x } }'))).toThrow(/auth-provider "oidc"/);
    });
  });
});
