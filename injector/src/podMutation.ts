// Turns a pod into the pod with its sidecar: a copy that shares every untouched branch with the original (so the
// JSON Patch diff stays cheap), with the daprd container, its volumes, the dapr.io labels, and the env vars and
// mounts Dapr adds to the app containers (spec §5.2 "patch ops").
import type { SidecarSettings } from './annotations.js';
import type { AnnotationProblem } from './annotations.js';
import type { ContainerJson, EnvVarJson, PodJson, VolumeJson, VolumeMountJson } from './kubeTypes.js';
import {
  appProtocolForApp,
  componentSocketsVolumeName,
  sidecarContainerName,
  sidecarHttpPort,
  tokenMountPath,
  tokenVolumeName,
  unixDomainSocketDaprdPath,
  unixDomainSocketVolumeName,
  type SidecarRequest,
  type SidecarTemplate,
} from './sidecarContainer.js';
import { rememberJson } from './jsonPatch.js';
import { LruMap } from './lru.js';

export interface MutationInput {
  pod: PodJson;
  settings: SidecarSettings;
  appId: string;
  namespace: string;
  trustAnchorsPem: string;
  mtlsEnabled: boolean;
  /** Containers of the namespace's pluggable Components (`dapr.io/inject-pluggable-components`). */
  injectedComponents?: ContainerJson[];
  /**
   * Built daprd containers to reuse, and the key of what the container is built from besides the pod (settings,
   * app id, namespace, trust anchors, mTLS): equal keys must mean equal inputs. Reused containers are shared by
   * the patches that add them and never modified.
   */
  sidecars?: { cache: LruMap<string, ContainerJson>; key: string };
}

export function hasSidecar(pod: PodJson): boolean {
  return pod.spec?.containers?.some((c) => c.name === sidecarContainerName) ?? false;
}

/** Annotation values that are well-formed but name things the pod does not have. */
export function podReferenceProblems(pod: PodJson, settings: SidecarSettings): AnnotationProblem[] {
  const volumes = new Set((pod.spec?.volumes ?? []).map((v) => v.name));
  const problems: AnnotationProblem[] = [];
  for (const [key, mounts] of [
    ['dapr.io/volume-mounts', settings.volumeMounts],
    ['dapr.io/volume-mounts-rw', settings.volumeMountsRw],
  ] as const) {
    const missing = mounts.filter((m) => !volumes.has(m.name)).map((m) => m.name);
    if (missing.length > 0) {
      problems.push({
        key,
        value: mounts.map((m) => `${m.name}:${m.mountPath}`).join(','),
        accepted: `volumes the pod declares (missing: ${missing.join(', ')})`,
      });
    }
  }
  return problems;
}

export function injectSidecar(template: SidecarTemplate, input: MutationInput): PodJson {
  const { pod, settings } = input;
  const original = pod.spec?.containers ?? [];
  const containers = [...original];
  const volumes = [...(pod.spec?.volumes ?? [])];
  const volumeNames = new Set(volumes.map((v) => v.name));
  const addVolume = (volume: VolumeJson) => {
    if (volumeNames.has(volume.name)) return;
    volumeNames.add(volume.name);
    volumes.push(volume);
  };

  const componentNames = new Set(settings.pluggableComponents);
  const appIndexes = original.map((c, i) => (componentNames.has(c.name) ? -1 : i)).filter((i) => i >= 0);
  const componentIndexes = original.map((c, i) => (componentNames.has(c.name) ? i : -1)).filter((i) => i >= 0);

  const daprdMounts: VolumeMountJson[] = [
    ...settings.volumeMounts.map((m) => ({ name: m.name, mountPath: m.mountPath, readOnly: true })),
    ...settings.volumeMountsRw.map((m) => ({ name: m.name, mountPath: m.mountPath, readOnly: false })),
  ];

  // A memory-backed folder shared by daprd and the app for Unix domain sockets.
  let appSocketMount: VolumeMountJson | undefined;
  if (settings.unixDomainSocketPath) {
    addVolume({ name: unixDomainSocketVolumeName, emptyDir: { medium: 'Memory' } });
    daprdMounts.push({ name: unixDomainSocketVolumeName, mountPath: unixDomainSocketDaprdPath });
    appSocketMount = { name: unixDomainSocketVolumeName, mountPath: settings.unixDomainSocketPath };
  }

  if (template.environment.tokenVolume) {
    addVolume(template.tokenVolume());
    daprdMounts.push({ name: tokenVolumeName, mountPath: tokenMountPath, readOnly: true });
  }

  // Pluggable components: a shared socket folder for daprd and every component container.
  const injected = input.injectedComponents ?? [];
  let componentSocketsMount: VolumeMountJson | undefined;
  if (componentIndexes.length > 0 || injected.length > 0) {
    const mountPath = settings.pluggableComponentsSocketsFolder || template.environment.componentSocketsFolder;
    componentSocketsMount = { name: componentSocketsVolumeName, mountPath };
    addVolume({ name: componentSocketsVolumeName, emptyDir: {} });
    const socketsEnv = [{ name: 'DAPR_COMPONENT_SOCKETS_FOLDER', value: mountPath }];
    for (const i of componentIndexes) {
      containers[i] = withMount(withEnv(containers[i] as ContainerJson, socketsEnv), componentSocketsMount);
    }
  }

  const sidecarRequest: SidecarRequest = {
    settings,
    appId: input.appId,
    namespace: input.namespace,
    pod,
    trustAnchorsPem: input.trustAnchorsPem,
    mtlsEnabled: input.mtlsEnabled,
    volumeMounts: daprdMounts,
    componentSocketsMount,
  };
  containers.push(sidecarFor(template, sidecarRequest, input.sidecars));

  const appEnv = appEnvFor(settings.grpcPort, appProtocolForApp(settings));
  for (const i of appIndexes) {
    let container = withEnv(containers[i] as ContainerJson, appEnv);
    if (appSocketMount) container = withMount(container, appSocketMount);
    containers[i] = container;
  }

  for (const component of injected) {
    for (const mount of component.volumeMounts ?? []) addVolume({ name: mount.name, emptyDir: {} });
    containers.push({
      ...component,
      env: [...(component.env ?? []), { name: 'DAPR_COMPONENT_SOCKETS_FOLDER', value: componentSocketsMount!.mountPath }],
      volumeMounts: [...(component.volumeMounts ?? []), componentSocketsMount!],
    });
  }

  const spec = { ...pod.spec, containers };
  if (volumes.length > (pod.spec?.volumes?.length ?? 0)) spec.volumes = volumes;
  // Object.assign rather than `{ ...labels, 'dapr.io/…': … }`: V8 (Node 20) takes a slow path for members added
  // after a spread of an object JSON.parse made — 1.7 µs for these three labels against 0.08 µs.
  const labels = Object.assign({}, pod.metadata?.labels, {
    'dapr.io/sidecar-injected': 'true',
    'dapr.io/app-id': input.appId,
    'dapr.io/metrics-enabled': String(settings.enableMetrics),
  });
  return { ...pod, metadata: { ...pod.metadata, labels }, spec };
}

// The env vars Dapr adds to app containers, by gRPC port and app protocol: the same few objects for nearly every
// pod, shared by the patches that add them and never modified, so their JSON text is written once.
const appEnvs = new LruMap<string, EnvVarJson[]>(16);

function appEnvFor(grpcPort: number, appProtocol: string): EnvVarJson[] {
  const key = `${grpcPort}\u0000${appProtocol}`;
  let env = appEnvs.get(key);
  if (env === undefined) {
    env = [
      { name: 'DAPR_HTTP_PORT', value: String(sidecarHttpPort) },
      { name: 'DAPR_GRPC_PORT', value: String(grpcPort) },
      { name: 'APP_PROTOCOL', value: appProtocol },
    ];
    for (const variable of env) rememberJson(variable);
    appEnvs.set(key, env);
  }
  return env;
}

/** The daprd container: built, or reused when one was built from the same inputs. */
function sidecarFor(template: SidecarTemplate, request: SidecarRequest, sidecars: MutationInput['sidecars']): ContainerJson {
  if (!sidecars) return template.container(request);
  // Of the pod, the container depends on its tolerations and on whether it has component sockets (the mounts
  // come from the settings); the rest is in the caller's key.
  const key = `${sidecars.key}\u0000${template.keepsEntrypoint(request.pod) ? 1 : 0}${request.componentSocketsMount ? 1 : 0}`;
  let container = sidecars.cache.get(key);
  if (container === undefined) {
    container = template.container(request);
    rememberJson(container);
    sidecars.cache.set(key, container);
  }
  return container;
}

/** Adds the env vars the container does not define yet; user values always win. */
function withEnv(container: ContainerJson, add: EnvVarJson[]): ContainerJson {
  const existing = container.env ?? [];
  const missing = add.filter((e) => !existing.some((x) => x.name === e.name));
  return missing.length ? Object.assign({}, container, { env: [...existing, ...missing] }) : container; // see labels above
}

/** Adds the mount unless the container already mounts something at that path or under that name. */
function withMount(container: ContainerJson, mount: VolumeMountJson): ContainerJson {
  const existing = container.volumeMounts ?? [];
  if (existing.some((m) => m.mountPath === mount.mountPath || m.name === mount.name)) return container;
  return Object.assign({}, container, { volumeMounts: [...existing, mount] });
}
