import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadKubeConfig } from './kube.js';

const kubeconfig = (server: string) => `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: '${server}', tls-server-name: cluster.local}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`;

describe('loadKubeConfig', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kube-test-'));
  const flagFile = path.join(dir, 'flag.yaml');
  const envFile = path.join(dir, 'env.yaml');
  const home = path.join(dir, 'home');
  const token = path.join(dir, 'token');
  writeFileSync(flagFile, kubeconfig('https://flag:1'));
  writeFileSync(envFile, kubeconfig('https://env:2'));
  mkdirSync(path.join(home, '.kube'), { recursive: true });
  writeFileSync(path.join(home, '.kube', 'config'), kubeconfig('https://home:3'));
  writeFileSync(token, 'sa-token');
  const inCluster = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' };

  const server = (result: ReturnType<typeof loadKubeConfig>) => result.config.getCurrentCluster()?.server;

  it('prefers --kubeconfig, then KUBECONFIG, then in-cluster, then ~/.kube/config', () => {
    expect(loadKubeConfig({ kubeconfigFlag: flagFile, env: { KUBECONFIG: envFile, HOME: home } }).origin).toBe('flag');
    expect(server(loadKubeConfig({ kubeconfigFlag: '', env: { KUBECONFIG: envFile, HOME: home } }))).toBe('https://env:2');
    expect(loadKubeConfig({ kubeconfigFlag: '', env: { HOME: home } }).origin).toBe('home');
  });

  it('keeps tls-server-name from the kubeconfig', () => {
    expect(loadKubeConfig({ kubeconfigFlag: flagFile, env: {} }).config.getCurrentCluster()?.tlsServerName).toBe('cluster.local');
  });

  it('does not treat KUBERNETES_SERVICE_HOST alone as in-cluster (Dapr test harness sets only that)', () => {
    const result = loadKubeConfig({ kubeconfigFlag: '', env: { KUBERNETES_SERVICE_HOST: 'anything', HOME: home }, serviceAccountTokenPath: token });
    expect(result.origin).toBe('home');
  });

  it('tries in-cluster first when asked (sentry), when host, port and token are all there', () => {
    const origin = (preferInCluster: boolean) =>
      loadKubeConfig({ kubeconfigFlag: flagFile, env: { ...inCluster, HOME: home }, preferInCluster, serviceAccountTokenPath: token }).origin;
    expect(origin(false)).toBe('flag');
    expect(origin(true)).toBe('in-cluster');
  });

  it('names the missing file and its origin', () => {
    expect(() => loadKubeConfig({ kubeconfigFlag: '/nope/config', env: {} })).toThrow('kubeconfig file /nope/config (from --kubeconfig) does not exist');
  });

  it('says every place it looked when nothing is found', () => {
    expect(() => loadKubeConfig({ kubeconfigFlag: '', env: { HOME: path.join(dir, 'empty') } })).toThrow(/--kubeconfig.*KUBECONFIG.*~\/\.kube\/config/);
  });
});
