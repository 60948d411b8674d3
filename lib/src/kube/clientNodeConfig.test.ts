// loadKubeConfig loads client-node with require() when called, which jest's module runtime refuses for ES modules
// (Node itself allows it): the cases run the compiled module (lib/dist, built by `npm run build`) in a child Node.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const compiled = path.resolve(process.cwd(), 'lib', 'dist', 'src', 'kube.js');

/** Runs `loadKubeConfig(source)` in a child Node and returns what it saw (or the error message). */
function load(source: object): { origin?: string; server?: string; tlsServerName?: string; token?: string; error?: string } {
  if (!existsSync(compiled)) throw new Error(`${compiled} is missing: build lib first (npx tsc -b lib)`);
  const script = `
    const { loadKubeConfig } = await import(${JSON.stringify(pathToFileURL(compiled).href)});
    try {
      const { config, origin } = loadKubeConfig(${JSON.stringify(source)});
      const cluster = config.getCurrentCluster();
      console.log(JSON.stringify({ origin, server: cluster?.server, tlsServerName: cluster?.tlsServerName, token: config.getCurrentUser()?.token }));
    } catch (error) {
      console.log(JSON.stringify({ error: error.message }));
    }`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  if (result.status !== 0) throw new Error(`loadKubeConfig child failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as ReturnType<typeof load>;
}

describe('loadKubeConfig', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'kubeconfig-test-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe('when a kubeconfig file is found', () => {
    it("returns client-node's KubeConfig for that file, with the origin and tls-server-name", () => {
      const file = path.join(dir, 'config');
      writeFileSync(
        file,
        `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: 'https://env:2', tls-server-name: cluster.local}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`,
      );
      expect(load({ kubeconfigFlag: '', env: { KUBECONFIG: file } })).toEqual({ origin: 'KUBECONFIG', server: 'https://env:2', tlsServerName: 'cluster.local', token: 't' });
    });
  });

  describe('when nothing is found', () => {
    it('fails as loadClusterAccess does, naming every place it looked', () => {
      expect(load({ kubeconfigFlag: '', env: { HOME: path.join(dir, 'empty') } }).error).toMatch(/--kubeconfig.*KUBECONFIG.*~\/\.kube\/config/);
    });
  });
});
