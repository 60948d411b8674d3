// The `daprd` container, built exactly as Dapr 1.17's injector builds it (spec §5.4): ports, args in Dapr's
// order, env, probes on the public port, security context, resources. Everything that depends only on the
// injector's own configuration is computed once (`SidecarTemplate`); per pod only the annotation-driven parts
// are assembled.
import type { SidecarSettings } from './annotations.js';
import type { ContainerJson, EnvVarJson, PodJson, TolerationJson, VolumeMountJson } from './kubeTypes.js';
import { rememberJson } from './jsonPatch.js';

export const sidecarContainerName = 'daprd';
export const sidecarHttpPort = 3500;
export const sidecarPublicPort = 3501;
export const tokenVolumeName = 'dapr-identity-token';
export const tokenMountPath = '/var/run/secrets/dapr.io/sentrytoken';
export const unixDomainSocketVolumeName = 'dapr-unix-domain-socket';
export const unixDomainSocketDaprdPath = '/var/run/dapr-sockets';
export const componentSocketsVolumeName = 'dapr-components-unix-domain-socket';
export const defaultComponentSocketsFolder = '/tmp/dapr-components-sockets';

/** What the injector's environment decides for every sidecar (spec §5.2 "per-request inputs" and env). */
export interface SidecarEnvironment {
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  controlPlaneNamespace: string;
  controlPlaneTrustDomain: string;
  kubeClusterDomain: string;
  /** `--placement-host-address` default (actors enabled and the actors service is placement). */
  placementAddress?: string;
  /** `--actors-service <name>:<address>` when the actors service is not placement. */
  actorsService?: string;
  /** `--reminders-service <name>:<address>`. */
  remindersService?: string;
  schedulerEnabled: boolean;
  runAsNonRoot: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  readOnlyRootFilesystem: boolean;
  dropAllCapabilities: boolean;
  enableK8sDownwardApis: boolean;
  /** Pods tolerating one of these keep the image's entrypoint: daprd gets `command: ["/daprd"]`. */
  ignoreEntrypointTolerations: TolerationJson[];
  /** Mount a projected service-account token for sentry (Dapr: only when the injector itself has a token). */
  tokenVolume: boolean;
  /** Default folder for pluggable component sockets (env DAPR_COMPONENT_SOCKETS_FOLDER). */
  componentSocketsFolder: string;
}

/** Per-pod inputs besides the annotations. */
export interface SidecarRequest {
  settings: SidecarSettings;
  appId: string;
  namespace: string;
  pod: PodJson;
  trustAnchorsPem: string;
  mtlsEnabled: boolean;
  volumeMounts: VolumeMountJson[];
  componentSocketsMount?: VolumeMountJson;
}

export class SidecarTemplate {
  readonly operatorAddress: string;
  readonly sentryAddress: string;
  readonly sentrySpiffeId: string;
  readonly #schedulerAddress: string;
  #tokenVolume: { name: string; projected: Record<string, unknown> } | undefined;

  constructor(readonly environment: SidecarEnvironment) {
    const { controlPlaneNamespace: ns, kubeClusterDomain: domain } = environment;
    this.operatorAddress = `dapr-api.${ns}.svc.${domain}:443`;
    this.sentryAddress = `dapr-sentry.${ns}.svc.${domain}:443`;
    this.#schedulerAddress = `dapr-scheduler-server-a.${ns}.svc.${domain}:443`;
    this.sentrySpiffeId = `spiffe://${environment.controlPlaneTrustDomain}/ns/${ns}/dapr-sentry`;
  }

  /**
   * The projected token volume daprd presents to sentry (audience = sentry's SPIFFE ID). One object, shared by
   * every mutated pod and patch and never modified, so its JSON text is written once (rememberJson).
   */
  tokenVolume(): { name: string; projected: Record<string, unknown> } {
    if (this.#tokenVolume === undefined) {
      this.#tokenVolume = {
        name: tokenVolumeName,
        projected: {
          sources: [{ serviceAccountToken: { audience: this.sentrySpiffeId, expirationSeconds: 7200, path: 'token' } }],
          defaultMode: 420,
        },
      };
      rememberJson(this.#tokenVolume);
    }
    return this.#tokenVolume;
  }

  container(request: SidecarRequest): ContainerJson {
    const s = request.settings;
    const env = this.environment;
    const ports: Array<{ name: string; containerPort: number }> = [
      { name: 'dapr-http', containerPort: sidecarHttpPort },
      { name: 'dapr-grpc', containerPort: s.grpcPort },
      { name: 'dapr-internal', containerPort: s.internalGrpcPort },
      { name: 'dapr-metrics', containerPort: s.metricsPort },
    ];
    const args = this.args(request);
    let command = ['/daprd'];
    if (s.enableDebug) {
      ports.push({ name: 'dapr-debug', containerPort: s.debugPort });
      command = ['/dlv'];
      args.unshift('--listen', `:${s.debugPort}`, '--accept-multiclient', '--headless=true', '--log', '--api-version=2', 'exec', '/daprd', '--');
    }

    const containerEnv: EnvVarJson[] = [
      { name: 'NAMESPACE', value: request.namespace },
      { name: 'DAPR_TRUST_ANCHORS', value: request.trustAnchorsPem },
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'DAPR_CONTROLPLANE_NAMESPACE', value: env.controlPlaneNamespace },
      { name: 'DAPR_CONTROLPLANE_TRUST_DOMAIN', value: env.controlPlaneTrustDomain },
    ];
    if (env.enableK8sDownwardApis) containerEnv.push({ name: 'DAPR_HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } });
    for (const { name, value } of s.env) containerEnv.push({ name, value });
    for (const { name, secretName, secretKey } of s.envFromSecret) {
      containerEnv.push({ name, valueFrom: { secretKeyRef: { name: secretName, key: secretKey } } });
    }
    if (s.env.length + s.envFromSecret.length > 0) {
      containerEnv.push({ name: 'DAPR_ENV_KEYS', value: [...s.env, ...s.envFromSecret].map((e) => e.name).join(' ') });
    }

    const securityContext: Record<string, unknown> = {
      allowPrivilegeEscalation: false,
      runAsNonRoot: env.runAsNonRoot,
      readOnlyRootFilesystem: env.readOnlyRootFilesystem,
    };
    if (env.runAsUser !== undefined) securityContext['runAsUser'] = env.runAsUser;
    if (env.runAsGroup !== undefined) securityContext['runAsGroup'] = env.runAsGroup;
    if (s.seccompProfileType) securityContext['seccompProfile'] = { type: s.seccompProfileType };
    if (env.dropAllCapabilities) securityContext['capabilities'] = { drop: ['ALL'] };
    // Windows needs ContainerAdministrator to install certificates from SSL_CERT_DIR; Dapr then relaxes the
    // Linux settings too, since it cannot tell which OS the pod lands on.
    if (s.env.some((e) => e.name === 'SSL_CERT_DIR')) {
      securityContext['windowsOptions'] = { runAsUserName: 'ContainerAdministrator' };
      securityContext['runAsNonRoot'] = false;
      securityContext['readOnlyRootFilesystem'] = false;
      delete securityContext['runAsUser'];
      delete securityContext['runAsGroup'];
    }

    const volumeMounts = [...request.volumeMounts];
    if (request.componentSocketsMount) {
      volumeMounts.push(request.componentSocketsMount);
      containerEnv.push({ name: 'DAPR_COMPONENT_SOCKETS_FOLDER', value: request.componentSocketsMount.mountPath });
    }
    if (s.apiTokenSecret) containerEnv.push({ name: 'DAPR_API_TOKEN', valueFrom: { secretKeyRef: { name: s.apiTokenSecret, key: 'token' } } });
    if (s.appTokenSecret) containerEnv.push({ name: 'APP_API_TOKEN', valueFrom: { secretKeyRef: { name: s.appTokenSecret, key: 'token' } } });

    const container: ContainerJson = {
      name: sidecarContainerName,
      image: s.sidecarImage ?? env.image,
      imagePullPolicy: env.imagePullPolicy,
      securityContext,
      ports,
      args: [...command, ...args],
      env: containerEnv,
      readinessProbe: {
        httpGet: { path: '/v1.0/healthz', port: sidecarPublicPort },
        initialDelaySeconds: s.readinessProbeDelaySeconds,
        timeoutSeconds: s.readinessProbeTimeoutSeconds,
        periodSeconds: s.readinessProbePeriodSeconds,
        failureThreshold: s.readinessProbeThreshold,
      },
      livenessProbe: {
        tcpSocket: { port: sidecarPublicPort },
        initialDelaySeconds: s.livenessProbeDelaySeconds,
        timeoutSeconds: s.livenessProbeTimeoutSeconds,
        periodSeconds: s.livenessProbePeriodSeconds,
        failureThreshold: s.livenessProbeThreshold,
      },
    };
    if (volumeMounts.length > 0) container.volumeMounts = volumeMounts;
    if (this.keepsEntrypoint(request.pod)) {
      container['command'] = command;
      container['args'] = args;
    }
    const resources = resourceRequirements(s);
    if (resources) container['resources'] = resources;
    return container;
  }

  /** Whether the pod tolerates one of IGNORE_ENTRYPOINT_TOLERATIONS: daprd then gets `command: ["/daprd"]`. */
  keepsEntrypoint(pod: PodJson): boolean {
    return tolerates(pod.spec?.tolerations, this.environment.ignoreEntrypointTolerations);
  }

  /** daprd's flags in the order Dapr's injector writes them. */
  private args(request: SidecarRequest): string[] {
    const s = request.settings;
    const env = this.environment;
    const args = [
      '--dapr-http-port', String(sidecarHttpPort),
      '--dapr-grpc-port', String(s.grpcPort),
      '--dapr-internal-grpc-port', String(s.internalGrpcPort),
      '--dapr-listen-addresses', s.listenAddresses,
      '--dapr-public-port', String(sidecarPublicPort),
      '--app-id', request.appId,
      '--app-protocol', s.appProtocol,
      '--log-level', s.logLevel,
      '--dapr-graceful-shutdown-seconds', String(s.gracefulShutdownSeconds),
      '--mode', 'kubernetes',
      '--control-plane-address', this.operatorAddress,
      '--sentry-address', this.sentryAddress,
    ];
    if (s.appPort > 0) args.push('--app-port', String(s.appPort));
    if (s.enableMetrics) args.push('--enable-metrics', '--metrics-port', String(s.metricsPort));
    if (s.config) args.push('--config', s.config);
    if (s.appChannelAddress) args.push('--app-channel-address', s.appChannelAddress);
    // An annotated placement address wins, even when actors are off; "" in the annotation means none.
    const placement = s.placementHostAddress !== undefined ? s.placementHostAddress : env.placementAddress;
    if (placement?.trim()) args.push('--placement-host-address', placement);
    else if (env.actorsService) args.push('--actors-service', env.actorsService);
    if (env.remindersService) args.push('--reminders-service', env.remindersService);
    if (s.sentryRequestJwtAudiences) args.push('--sentry-request-jwt-audiences', s.sentryRequestJwtAudiences);
    if (s.enableApiLogging !== undefined) args.push(`--enable-api-logging=${s.enableApiLogging}`);
    if (s.disableBuiltinK8sSecretStore) args.push('--disable-builtin-k8s-secret-store');
    if (s.enableAppHealthCheck) {
      args.push(
        '--enable-app-health-check',
        '--app-health-check-path', s.appHealthCheckPath,
        '--app-health-probe-interval', String(s.appHealthProbeInterval),
        '--app-health-probe-timeout', String(s.appHealthProbeTimeout),
        '--app-health-threshold', String(s.appHealthThreshold),
      );
    }
    if (s.logAsJson) args.push('--log-as-json');
    if (s.enableProfiling) args.push('--enable-profiling');
    if (request.mtlsEnabled) args.push('--enable-mtls');
    if (s.appSsl) args.push('--app-ssl');
    if (s.appMaxConcurrency !== undefined) args.push('--app-max-concurrency', String(s.appMaxConcurrency));
    if (s.httpMaxRequestSize !== undefined) args.push('--dapr-http-max-request-size', String(s.httpMaxRequestSize));
    if (s.maxBodySize) args.push('--max-body-size', s.maxBodySize);
    if (s.httpReadBufferSize !== undefined) args.push('--dapr-http-read-buffer-size', String(s.httpReadBufferSize));
    if (s.readBufferSize) args.push('--read-buffer-size', s.readBufferSize);
    if (s.unixDomainSocketPath) args.push('--unix-domain-socket', unixDomainSocketDaprdPath);
    if (s.blockShutdownDuration) args.push('--dapr-block-shutdown-duration', s.blockShutdownDuration);
    if (s.schedulerHostAddress !== undefined) args.push('--scheduler-host-address', s.schedulerHostAddress);
    else if (env.schedulerEnabled) args.push('--scheduler-host-address', this.#schedulerAddress);
    if (s.disableInitEndpoints !== undefined) args.push('--disable-init-endpoints', s.disableInitEndpoints);
    return args;
  }
}

/** The APP_PROTOCOL value for app containers: the deprecated app-ssl upgrades http/grpc to their TLS forms. */
export function appProtocolForApp(settings: SidecarSettings): string {
  if (settings.appSsl && settings.appProtocol === 'http') return 'https';
  if (settings.appSsl && settings.appProtocol === 'grpc') return 'grpcs';
  return settings.appProtocol;
}

function resourceRequirements(s: SidecarSettings): Record<string, Record<string, string>> | undefined {
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  if (s.cpuRequest) requests['cpu'] = s.cpuRequest;
  if (s.memoryRequest) requests['memory'] = s.memoryRequest;
  if (s.cpuLimit) limits['cpu'] = s.cpuLimit;
  if (s.memoryLimit) limits['memory'] = s.memoryLimit;
  const out: Record<string, Record<string, string>> = {};
  if (Object.keys(limits).length) out['limits'] = limits;
  if (Object.keys(requests).length) out['requests'] = requests;
  return Object.keys(out).length ? out : undefined;
}

function tolerates(podTolerations: TolerationJson[] | undefined, wanted: TolerationJson[]): boolean {
  if (!podTolerations?.length || !wanted.length) return false;
  const same = (a: TolerationJson, b: TolerationJson) =>
    (a.key ?? '') === (b.key ?? '') &&
    (a.operator ?? '') === (b.operator ?? '') &&
    (a.value ?? '') === (b.value ?? '') &&
    (a.effect ?? '') === (b.effect ?? '') &&
    a.tolerationSeconds === b.tolerationSeconds;
  return wanted.some((w) => podTolerations.some((t) => same(t, w)));
}
