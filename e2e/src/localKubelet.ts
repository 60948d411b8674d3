// The kubelet's part, played for one container of a real Pod that the API server holds (Pending: there is no
// kubelet or scheduler here). It does what a node would: writes the pod's ConfigMap, Secret, projected
// service-account-token and downward-API volumes to files (re-syncing ConfigMaps and Secrets while the container
// runs), resolves env from the downward API, expands $(VAR) in args, starts the process and reports how it ended
// in the pod's status. The only differences from a node are spelled out by the caller in a ContainerMapping: which
// local program a command is, local ports, and local files for paths compiled into a binary.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CoreV1Api, type KubeConfig, type V1Pod, type V1PodStatus, type V1Volume } from '@kubernetes/client-node';
import { waitFor } from '@tapr/lib/testing';
import type { Container } from './objects.js';
import { expandArgs, resolveEnv } from './podEnv.js';

export interface ContainerMapping {
  /** The local program and leading arguments for the container's command (e.g. /sentry → node sentry/dist/src/main.js). */
  executable(command: string[]): string[];
  /** Exact string replacements applied to args and env values (e.g. a Service address → 127.0.0.1:port). */
  replacements?: Record<string, string>;
  /** Flags whose value is replaced (e.g. --port → a free local port); matched in `--flag v` and `--flag=v` forms. */
  flagValues?: Record<string, string>;
  /** Extra arguments and env, given the local directory of each mount path (for paths compiled into binaries). */
  extraArgs?(mounts: MountMap): string[];
  extraEnv?(mounts: MountMap): Record<string, string>;
}

/** Container mount path → the local directory standing in for it. */
export type MountMap = Record<string, string>;

export interface PreparedContainer {
  pod: V1Pod;
  container: Container;
  argv: string[];
  env: Record<string, string>;
  mounts: MountMap;
  logFile: string;
}

export interface RunningContainer {
  readonly prepared: PreparedContainer;
  readonly process: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  output(): string;
  /** SIGTERM, then the exit code (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<number | null>;
}

export interface LocalKubeletOptions {
  /** Admin access, as a node's kubelet has to the objects its pods use. */
  kubeConfig: KubeConfig;
  /** Root for volumes and logs. */
  workDir: string;
  /** How often ConfigMap and Secret volumes are re-synced (the kubelet's sync period, shortened). */
  syncIntervalMs?: number;
}

export class LocalKubelet {
  readonly #core: CoreV1Api;
  readonly #running = new Set<RunningContainer>();
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(private readonly options: LocalKubeletOptions) {
    this.#core = options.kubeConfig.makeApiClient(CoreV1Api);
  }

  /** The one pod matching `labelSelector` (created by a controller), once it exists. */
  async waitForPod(namespace: string, labelSelector: string, timeoutMs = 60_000): Promise<V1Pod> {
    return (await this.waitForPods(namespace, labelSelector, 1, timeoutMs))[0]!;
  }

  /** Exactly `count` pods matching `labelSelector`, sorted by name, once the controllers have created them all. */
  async waitForPods(namespace: string, labelSelector: string, count: number, timeoutMs = 60_000): Promise<V1Pod[]> {
    return waitFor(
      async () => {
        const pods = (await this.#core.listNamespacedPod({ namespace, labelSelector })).items.filter((p) => !p.metadata?.deletionTimestamp);
        if (pods.length > count) throw new Error(`${pods.length} pods match ${labelSelector} in ${namespace}; expected ${count}`);
        return pods.length === count ? pods.sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!)) : undefined;
      },
      { what: `${count} pod(s) ${labelSelector} in ${namespace}`, timeoutMs, intervalMs: 200 },
    );
  }

  /** The local directory of a pod's volumes and logs. */
  podDir(pod: V1Pod): string {
    return path.join(this.options.workDir, `${pod.metadata!.namespace}.${pod.metadata!.name}`);
  }

  async prepare(pod: V1Pod, containerName: string, mapping: ContainerMapping): Promise<PreparedContainer> {
    const podName = pod.metadata!.name!;
    const namespace = pod.metadata!.namespace!;
    const container = pod.spec!.containers.find((c) => c.name === containerName) as Container | undefined;
    if (!container) throw new Error(`pod ${namespace}/${podName} has no container ${containerName}`);
    const podDir = this.podDir(pod);
    const volumes = new Map((pod.spec!.volumes ?? []).map((v) => [v.name, v]));
    const mounts: MountMap = {};
    for (const mount of container.volumeMounts ?? []) {
      const volume = volumes.get(mount.name);
      if (!volume) throw new Error(`pod ${namespace}/${podName}: volume ${mount.name} is mounted but not declared`);
      const dir = path.join(podDir, 'volumes', mount.name);
      await this.#writeVolume(pod, volume, dir);
      this.#keepSynced(pod, volume, dir);
      // A trailing slash is not part of the path (`/data/` and `/data` mount the same place).
      mounts[mount.mountPath.replace(/(.)\/+$/, '$1')] = dir;
    }

    const facts = { name: podName, namespace, serviceAccountName: pod.spec!.serviceAccountName };
    const env = resolveEnv(container, facts);
    const local = (text: string) => localize(text, mounts, mapping.replacements ?? {});
    const localEnv = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, local(v)]));
    Object.assign(localEnv, mapping.extraEnv?.(mounts) ?? {});
    let args = expandArgs([...(container.args ?? [])], env).map(local);
    for (const [flag, value] of Object.entries(mapping.flagValues ?? {})) args = replaceFlag(args, flag, value);
    args.push(...(mapping.extraArgs?.(mounts) ?? []));
    const command = expandArgs(container.command ?? [], env).map(local);
    const argv = [...mapping.executable(command), ...args];
    mkdirSync(podDir, { recursive: true });
    return { pod, container, argv, env: localEnv, mounts, logFile: path.join(podDir, `${container.name}.log`) };
  }

  /** Starts the prepared container; its output goes to its log file and is kept for `output()`. */
  start(prepared: PreparedContainer): RunningContainer {
    const [file, ...args] = prepared.argv;
    // As in the container: only the pod's environment (no PATH or HOME from the test runner).
    const child = spawn(file!, args, { env: prepared.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const log = createWriteStream(prepared.logFile, { flags: 'a' });
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.length > 2_000_000) output = output.slice(-1_000_000);
      log.write(chunk);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const running: RunningContainer = {
      prepared,
      process: child,
      exited,
      output: () => output,
      stop: async (graceMs = 15_000) => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          await exited;
          clearTimeout(timer);
        }
        return exited;
      },
    };
    this.#running.add(running);
    void exited.then(() => this.#running.delete(running));
    // 'close' comes after the last output ('exit' may come before it is read): only then is the log complete.
    child.once('close', () => log.end());
    return running;
  }

  /**
   * Records in the pod's status what the kubelet would once its containers run: phase Running, the pod's address
   * (127.0.0.1 here) and, per container, running and ready for those in `running`; the others (played by the test
   * itself, or not run here) are reported waiting, so `kubectl get pods` never claims more than runs.
   */
  async reportRunning(pod: V1Pod, running: string[]): Promise<void> {
    await this.#replaceStatus(pod, (current, now) => {
      const containers = current.spec!.containers;
      const allReady = containers.every((c) => running.includes(c.name));
      const condition = (type: string, status: boolean) => ({ type, status: status ? 'True' : 'False', lastTransitionTime: now });
      return {
        ...current.status,
        phase: 'Running',
        podIP: '127.0.0.1',
        podIPs: [{ ip: '127.0.0.1' }],
        hostIP: '127.0.0.1',
        startTime: current.status?.startTime ?? now,
        conditions: [condition('Initialized', true), condition('ContainersReady', allReady), condition('Ready', allReady)],
        containerStatuses: containers.map((c) => ({
          name: c.name,
          image: c.image ?? '',
          imageID: '',
          restartCount: 0,
          ...(running.includes(c.name)
            ? { ready: true, started: true, state: { running: { startedAt: now } } }
            : { ready: false, started: false, state: { waiting: { reason: 'NotRunLocally', message: 'the local kubelet does not run this container' } } }),
        })),
      };
    });
  }

  /** Records in the pod's status that its only container ended with `exitCode` (what the kubelet reports). */
  async reportTerminated(pod: V1Pod, exitCode: number): Promise<void> {
    await this.#replaceStatus(pod, (current, now) => ({
      ...current.status,
      phase: exitCode === 0 ? 'Succeeded' : 'Failed',
      startTime: current.status?.startTime ?? now,
      conditions: [{ type: 'Ready', status: 'False', reason: 'PodCompleted', lastTransitionTime: now }],
      containerStatuses: current.spec!.containers.map((c) => ({
        name: c.name,
        image: c.image ?? '',
        imageID: '',
        ready: false,
        restartCount: 0,
        state: { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: now, finishedAt: now } },
      })),
    }));
  }

  /** Reads the pod, replaces its status with `build`'s, and retries (a conflict or a moment's error) for 15 s. */
  async #replaceStatus(pod: V1Pod, build: (current: V1Pod, now: Date) => V1PodStatus): Promise<void> {
    const name = pod.metadata!.name!;
    const namespace = pod.metadata!.namespace!;
    await waitFor(
      async () => {
        const current = await this.#core.readNamespacedPod({ name, namespace });
        current.status = build(current, new Date());
        await this.#core.replaceNamespacedPodStatus({ name, namespace, body: current });
        return true;
      },
      { what: `the status of pod ${namespace}/${name} to be recorded`, timeoutMs: 15_000 },
    );
  }

  /** Stops every container still running and the volume syncs. */
  async stopAll(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers.clear();
    await Promise.all([...this.#running].map((r) => r.stop()));
  }

  async #writeVolume(pod: V1Pod, volume: V1Volume, dir: string): Promise<void> {
    const namespace = pod.metadata!.namespace!;
    const files: Record<string, string | Buffer> = {};
    if (volume.configMap) {
      const cm = await this.#core.readNamespacedConfigMap({ name: volume.configMap.name!, namespace });
      Object.assign(files, pick(cm.data ?? {}, volume.configMap.items, (v) => v));
    } else if (volume.secret) {
      const secret = await this.#core.readNamespacedSecret({ name: volume.secret.secretName!, namespace });
      Object.assign(files, pick(secret.data ?? {}, volume.secret.items, (v) => Buffer.from(v, 'base64')));
    } else if (volume.projected) {
      for (const source of volume.projected.sources ?? []) {
        if (source.serviceAccountToken) {
          const token = await this.token(pod, source.serviceAccountToken.audience, source.serviceAccountToken.expirationSeconds);
          files[source.serviceAccountToken.path] = token;
        } else if (source.configMap) {
          const cm = await this.#core.readNamespacedConfigMap({ name: source.configMap.name!, namespace });
          Object.assign(files, pick(cm.data ?? {}, source.configMap.items, (v) => v));
        } else if (source.downwardAPI) {
          for (const item of source.downwardAPI.items ?? []) {
            const field = item.fieldRef?.fieldPath;
            if (field === 'metadata.namespace') files[item.path] = namespace;
            else if (field === 'metadata.name') files[item.path] = pod.metadata!.name!;
            else throw new Error(`downwardAPI volume item ${item.path}: ${field ?? 'resourceFieldRef'} is not supported here`);
          }
        } else {
          throw new Error(`projected volume ${volume.name}: only serviceAccountToken, configMap and downwardAPI sources are supported here`);
        }
      }
    } else if (!volume.emptyDir) {
      throw new Error(`volume ${volume.name}: only configMap, secret, projected and emptyDir volumes are supported here`);
    }
    mkdirSync(dir, { recursive: true });
    for (const [name, content] of Object.entries(files)) {
      const file = path.join(dir, name);
      mkdirSync(path.dirname(file), { recursive: true });
      if (readIfExists(file)?.equals(Buffer.from(content))) continue;
      // Atomic replacement, as the kubelet swaps its ..data link: readers never see half a file.
      writeFileSync(`${file}.tmp`, content);
      renameSync(`${file}.tmp`, file);
    }
  }

  #keepSynced(pod: V1Pod, volume: V1Volume, dir: string): void {
    if (!volume.configMap && !volume.secret) return;
    const timer = setInterval(() => {
      this.#writeVolume(pod, volume, dir).catch(() => undefined);
    }, this.options.syncIntervalMs ?? 1000);
    timer.unref();
    this.#timers.add(timer);
  }

  /** A token for the pod's service account, bound to the pod, as the kubelet requests for projected volumes. */
  async token(pod: V1Pod, audience: string | undefined, expirationSeconds = 3600): Promise<string> {
    const request = await this.#core.createNamespacedServiceAccountToken({
      name: pod.spec!.serviceAccountName ?? 'default',
      namespace: pod.metadata!.namespace!,
      body: {
        spec: {
          audiences: audience ? [audience] : [],
          expirationSeconds: Math.max(600, expirationSeconds),
          boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: pod.metadata!.name!, uid: pod.metadata!.uid! },
        },
      },
    });
    return request.status!.token;
  }
}

function pick<T>(data: Record<string, string>, items: Array<{ key: string; path: string }> | undefined, convert: (v: string) => T): Record<string, T> {
  const out: Record<string, T> = {};
  if (items?.length) {
    for (const item of items) if (item.key in data) out[item.path] = convert(data[item.key]!);
  } else {
    for (const [key, value] of Object.entries(data)) out[key] = convert(value);
  }
  return out;
}

function readIfExists(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/**
 * Mount paths → local directories, and the caller's exact replacements, in one pass over the original text (longest
 * match first): a local directory put in for one mount is never rewritten again by a shorter mount path such as
 * `/tmp` (the scheduler pod mounts one there, and the local directories themselves live under /tmp).
 */
function localize(text: string, mounts: MountMap, replacements: Record<string, string>): string {
  const table = new Map<string, string>([...Object.entries(mounts), ...Object.entries(replacements)]);
  if (table.size === 0) return text;
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp([...table.keys()].sort((a, b) => b.length - a.length).map(escape).join('|'), 'g');
  return text.replace(pattern, (match) => table.get(match)!);
}

/** Replaces the value of `flag` (`--flag v` or `--flag=v`); adds the flag when the args lack it. */
export function replaceFlag(args: string[], flag: string, value: string): string[] {
  const out = [...args];
  for (let i = 0; i < out.length; i++) {
    if (out[i] === flag) {
      out[i + 1] = value;
      return out;
    }
    if (out[i]!.startsWith(`${flag}=`)) {
      out[i] = `${flag}=${value}`;
      return out;
    }
  }
  return [...out, flag, value];
}

/** A kubeconfig that authenticates with a service-account token read from a projected volume. */
export function serviceAccountKubeconfig(server: string, accountDir: string, file: string): string {
  const token = readFileSync(path.join(accountDir, 'token'), 'utf8').trim();
  const yaml = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: local',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority: ${path.join(accountDir, 'ca.crt')}`,
    'users:',
    '- name: service-account',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: local',
    '  context: {cluster: local, user: service-account}',
    'current-context: local',
    '',
  ].join('\n');
  writeFileSync(file, yaml, { mode: 0o600 });
  return file;
}
