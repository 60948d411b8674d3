// How to reach the API server: server URL, TLS material and credentials, found the way Dapr's binaries find them
// (spec §11): `--kubeconfig`, then `KUBECONFIG`, then in-cluster, then `~/.kube/config` — or, for sentry and the
// injector, in-cluster first. In-cluster means KUBERNETES_SERVICE_HOST *and* _PORT are set and the service-account
// token exists: Dapr's test harness sets only `KUBERNETES_SERVICE_HOST=anything`, which must not count (§11.10).
//
// Why not client-node's KubeConfig: importing it loads client-node's generated API models, about 70 MiB of resident
// memory before a service has done anything (measured: a bare Node process 41 MiB RSS, after importing KubeConfig
// 113 MiB). The kubeconfig parsing and the credential plugins here are still client-node's (config_types, ExecAuth,
// FileAuth, imported on their own, 2 MiB); this module only puts them together.
import { existsSync, readFileSync } from 'node:fs';
import type https from 'node:https';
import { homedir } from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { newClusters, newContexts, newUsers, type Cluster, type User } from '@kubernetes/client-node/dist/config_types.js';
import { ExecAuth } from '@kubernetes/client-node/dist/exec_auth.js';
import { FileAuth } from '@kubernetes/client-node/dist/file_auth.js';

export const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';

export type ClusterAccessOrigin = 'flag' | 'KUBECONFIG' | 'in-cluster' | 'home' | 'given';

/** Everything a request to the API server needs. */
export interface ClusterAccess {
  server: URL;
  /** The name the server certificate must carry, when it differs from the server's host (`tls-server-name`). */
  tlsServerName?: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  skipTlsVerify: boolean;
  /** Fresh credentials for each request (token files and exec plugins rotate). */
  credentials(): Promise<Credentials>;
  origin: ClusterAccessOrigin;
  /** Where the configuration came from, for logs. */
  source: string;
  /** The kubeconfig file read, when it came from one. */
  file?: string;
}

export interface Credentials {
  headers: Record<string, string>;
  /** A client certificate and key handed out by an exec plugin (they replace the kubeconfig's). */
  cert?: string | Buffer;
  key?: string | Buffer;
}

export interface ClusterAccessSource {
  /** Value of `--kubeconfig` ("" when not given). */
  kubeconfigFlag: string;
  env: NodeJS.ProcessEnv;
  /** Sentry and the injector try in-cluster before any file. */
  preferInCluster?: boolean;
  /** For tests: where the in-cluster service-account files are. */
  serviceAccountDir?: string;
}

export function loadClusterAccess(source: ClusterAccessSource): ClusterAccess {
  const saDir = source.serviceAccountDir ?? serviceAccountDir;
  const env = source.env;
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  const inClusterAccess = host && port && existsSync(path.join(saDir, 'token')) ? () => inCluster(host, port, saDir) : undefined;
  if (source.preferInCluster && inClusterAccess) return inClusterAccess();
  if (source.kubeconfigFlag) return fromKubeconfigFile(source.kubeconfigFlag, 'flag', '--kubeconfig');
  if (env['KUBECONFIG']) return fromKubeconfigFile(env['KUBECONFIG'].split(path.delimiter)[0]!, 'KUBECONFIG', 'KUBECONFIG');
  if (inClusterAccess) return inClusterAccess();
  const home = env['HOME'] ?? homedir();
  const file = home ? path.join(home, '.kube', 'config') : '';
  if (file && existsSync(file)) return fromKubeconfigFile(file, 'home', '~/.kube/config');
  throw new Error('no Kubernetes configuration found: pass --kubeconfig, set KUBECONFIG, run in a pod with a service account, or create ~/.kube/config');
}

/** Reads a kubeconfig file (its current context); relative file paths in it are relative to the file. */
export function fromKubeconfigFile(file: string, origin: ClusterAccessOrigin = 'given', from = file): ClusterAccess {
  if (!existsSync(file)) throw new Error(`kubeconfig file ${file} (from ${from}) does not exist`);
  let document: Record<string, unknown>;
  try {
    document = (yaml.load(readFileSync(file, 'utf8')) ?? {}) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`cannot read kubeconfig ${file} (from ${from}): ${(error as Error).message}`, { cause: error });
  }
  let clusters: Cluster[];
  let users: User[];
  let contexts: ReturnType<typeof newContexts>;
  try {
    clusters = newClusters(document['clusters']);
    users = newUsers(document['users']);
    contexts = newContexts(document['contexts']);
  } catch (error) {
    throw new Error(`kubeconfig ${file} (from ${from}) is invalid: ${(error as Error).message}`, { cause: error });
  }
  const contextName = document['current-context'];
  const context = contexts.find((c) => c.name === contextName);
  const cluster = clusters.find((c) => c.name === context?.cluster);
  if (!context || !cluster) throw new Error(`kubeconfig ${file} (from ${from}) has no current context with a cluster`);
  const user = users.find((u) => u.name === context.user);
  return { ...fromClusterAndUser(cluster, user, { origin, source: `${from} (${file})`, baseDir: path.dirname(file) }), file };
}

export interface AccessParts {
  origin: ClusterAccessOrigin;
  source: string;
  /** Directory relative file paths are resolved against. */
  baseDir?: string;
}

/** ClusterAccess from client-node's Cluster and User records (kubeconfig entries). */
export function fromClusterAndUser(cluster: Cluster, user: User | undefined, parts: AccessParts): ClusterAccess {
  const file = (name: string | undefined) => (name ? readFileSync(parts.baseDir && !path.isAbsolute(name) ? path.join(parts.baseDir, name) : name) : undefined);
  const data = (b64: string | undefined) => (b64 ? Buffer.from(b64, 'base64') : undefined);
  if (user?.authProvider && !user.authProvider.config?.tokenFile) {
    throw new Error(`kubeconfig user "${user.name}" uses the auth-provider "${user.authProvider.name}", which tapr does not support; use a token, a client certificate or an exec plugin`);
  }
  const exec = new ExecAuth();
  const tokenFile = new FileAuth();
  return {
    server: new URL(cluster.server),
    tlsServerName: cluster.tlsServerName,
    ca: file(cluster.caFile) ?? data(cluster.caData),
    cert: file(user?.certFile) ?? data(user?.certData),
    key: file(user?.keyFile) ?? data(user?.keyData),
    skipTlsVerify: cluster.skipTLSVerify,
    origin: parts.origin,
    source: parts.source,
    async credentials() {
      const headers: Record<string, string> = {};
      if (!user) return { headers };
      const opts: https.RequestOptions = { headers: {} };
      if (exec.isAuthProvider(user)) await exec.applyAuthentication(user, opts);
      if (tokenFile.isAuthProvider(user)) await tokenFile.applyAuthentication(user, opts);
      for (const [name, value] of Object.entries(opts.headers ?? {})) if (typeof value === 'string') headers[name] = value;
      if (user.token) headers['Authorization'] = `Bearer ${user.token}`;
      else if (user.username) headers['Authorization'] = `Basic ${Buffer.from(`${user.username}:${user.password ?? ''}`).toString('base64')}`;
      if (user.impersonateUser) headers['Impersonate-User'] = user.impersonateUser;
      return { headers, cert: opts.cert as string | Buffer | undefined, key: opts.key as string | Buffer | undefined };
    },
  };
}

/** The pod's service account: its CA, and its token re-read as the kubelet rotates it. */
function inCluster(host: string, port: string, saDir: string): ClusterAccess {
  const server = host.includes(':') ? `https://[${host}]:${port}` : `https://${host}:${port}`;
  return fromClusterAndUser(
    { name: 'in-cluster', server, caFile: path.join(saDir, 'ca.crt'), skipTLSVerify: false },
    { name: 'in-cluster', authProvider: { name: 'tokenFile', config: { tokenFile: path.join(saDir, 'token') } } },
    { origin: 'in-cluster', source: `the pod's service account (${saDir})` },
  );
}
