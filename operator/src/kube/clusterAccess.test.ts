import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
