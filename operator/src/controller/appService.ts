// The `<app-id>-dapr` Service of a Dapr-enabled workload (spec §4.3): headless, selecting the workload's pods,
// with the sidecar's HTTP, gRPC, internal gRPC and metrics ports, labelled `dapr.io/enabled` and controlled by the
// workload so Kubernetes garbage-collects it with the workload. daprd's Kubernetes name resolution finds app X of
// namespace N at X-dapr.N.svc:<internal port>.

export interface WorkloadKind {
  kind: 'Deployment' | 'StatefulSet' | 'Rollout';
  group: string;
  version: string;
  plural: string;
}

export const deploymentKind: WorkloadKind = { kind: 'Deployment', group: 'apps', version: 'v1', plural: 'deployments' };
export const statefulSetKind: WorkloadKind = { kind: 'StatefulSet', group: 'apps', version: 'v1', plural: 'statefulsets' };
export const rolloutKind: WorkloadKind = { kind: 'Rollout', group: 'argoproj.io', version: 'v1alpha1', plural: 'rollouts' };

/** What the reconciler keeps of a workload: identity, selector and the dapr.io annotations of its pod template. */
export interface Workload {
  kind?: string;
  apiVersion?: string;
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string; deletionTimestamp?: string };
  spec?: {
    selector?: { matchLabels?: Record<string, string> };
    template?: { metadata?: { annotations?: Record<string, string> } };
  };
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ServicePort {
  name: string;
  protocol: string;
  port: number;
  targetPort: number;
}

export interface AppService {
  apiVersion: 'v1';
  kind: 'Service';
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    ownerReferences: OwnerReference[];
  };
  spec: { selector: Record<string, string>; clusterIP: 'None'; ports: ServicePort[] };
}

export const annotations = {
  enabled: 'dapr.io/enabled',
  appId: 'dapr.io/app-id',
  enableMetrics: 'dapr.io/enable-metrics',
  metricsPort: 'dapr.io/metrics-port',
  grpcPort: 'dapr.io/grpc-port',
  internalGrpcPort: 'dapr.io/internal-grpc-port',
  sidecarServiceAnnotations: 'dapr.io/sidecar-svc-annotations',
} as const;

const keptAnnotations = new Set<string>(Object.values(annotations));

export const sidecarHttpPort = 3500;
export const defaultGrpcPort = 50001;
export const defaultInternalGrpcPort = 50002;
export const defaultMetricsPort = 9090;

/** dapr/kit's IsTruthy: y, yes, true, t, on, 1 (any case). */
export function isTruthy(value: string | undefined): boolean {
  return ['y', 'yes', 'true', 't', 'on', '1'].includes((value ?? '').trim().toLowerCase());
}

export function isDaprEnabled(workload: Workload): boolean {
  return isTruthy(workload.spec?.template?.metadata?.annotations?.[annotations.enabled]);
}

/**
 * The slim copy the reconciler caches of a Dapr-enabled workload (undefined for the others, which are not
 * cached at all): only the fields the Service is built from.
 */
export function slimWorkload(workload: Workload): Workload | undefined {
  if (!isDaprEnabled(workload)) return undefined;
  const templateAnnotations = Object.fromEntries(
    Object.entries(workload.spec?.template?.metadata?.annotations ?? {}).filter(([key]) => keptAnnotations.has(key)),
  );
  const { name, namespace, uid, resourceVersion, deletionTimestamp } = workload.metadata ?? {};
  return {
    metadata: { name, namespace, uid, resourceVersion, deletionTimestamp },
    spec: { selector: { matchLabels: workload.spec?.selector?.matchLabels }, template: { metadata: { annotations: templateAnnotations } } },
  };
}

export class InvalidAppIdError extends Error {}

const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Dapr's ValidateKubernetesAppID: `<app-id>-dapr` must be an RFC 1123 label. */
export function validateAppId(appId: string): void {
  if (!appId) throw new InvalidAppIdError('value for the dapr.io/app-id annotation is empty');
  const service = serviceName(appId);
  const problems: string[] = [];
  if (service.length > 63) problems.push('must be no more than 63 characters');
  if (!dns1123Label.test(service)) {
    problems.push(
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
    );
  }
  if (problems.length) throw new InvalidAppIdError(`invalid app id (input: '${appId}', service: '${service}'): ${problems.join('; ')}`);
}

export function serviceName(appId: string): string {
  return `${appId}-dapr`;
}

export function appIdOf(workload: Workload): string {
  return workload.spec?.template?.metadata?.annotations?.[annotations.appId] ?? '';
}

// Dapr's GetAnnotationIntValueOrDefault: a base-10 int32, else the default.
function port(value: string | undefined, fallback: number): number {
  if (!value || !/^[+-]?\d+$/.test(value)) return fallback;
  const parsed = Number(value);
  return parsed >= -(2 ** 31) && parsed < 2 ** 31 ? parsed : fallback;
}

export function ownerReference(kind: WorkloadKind, workload: Workload): OwnerReference {
  return {
    apiVersion: `${kind.group}/${kind.version}`,
    kind: kind.kind,
    name: workload.metadata?.name ?? '',
    uid: workload.metadata?.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Builds the Service for a Dapr-enabled workload; throws InvalidAppIdError for an app id that cannot name one. */
export function buildAppService(kind: WorkloadKind, workload: Workload): AppService {
  const template = workload.spec?.template?.metadata?.annotations ?? {};
  const appId = appIdOf(workload);
  validateAppId(appId);
  const metricsEnabled = template[annotations.enableMetrics] ? isTruthy(template[annotations.enableMetrics]) : true;
  const metricsPort = port(template[annotations.metricsPort], defaultMetricsPort);
  const grpcPort = port(template[annotations.grpcPort], defaultGrpcPort);
  const internalGrpcPort = port(template[annotations.internalGrpcPort], defaultInternalGrpcPort);

  const serviceAnnotations: Record<string, string> = { [annotations.appId]: appId };
  if (metricsEnabled) {
    serviceAnnotations['prometheus.io/probe'] = 'true';
    serviceAnnotations['prometheus.io/scrape'] = 'true';
    serviceAnnotations['prometheus.io/port'] = String(metricsPort);
    serviceAnnotations['prometheus.io/path'] = '/';
  }
  // "k=v,k2=v2": a key already set (by the operator or an earlier pair) is not overridden, as in Dapr.
  for (const pair of (template[annotations.sidecarServiceAnnotations] ?? '').split(',')) {
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    const key = pair.slice(0, eq).trim();
    if (!key || key in serviceAnnotations) continue;
    serviceAnnotations[key] = pair.slice(eq + 1).trim();
  }

  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: serviceName(appId),
      namespace: workload.metadata?.namespace ?? '',
      labels: { [annotations.enabled]: 'true' },
      annotations: serviceAnnotations,
      ownerReferences: [ownerReference(kind, workload)],
    },
    spec: {
      selector: { ...(workload.spec?.selector?.matchLabels ?? {}) },
      clusterIP: 'None',
      ports: [
        { name: 'dapr-http', protocol: 'TCP', port: 80, targetPort: sidecarHttpPort },
        { name: 'dapr-grpc', protocol: 'TCP', port: grpcPort, targetPort: grpcPort },
        { name: 'dapr-internal', protocol: 'TCP', port: internalGrpcPort, targetPort: internalGrpcPort },
        { name: 'dapr-metrics', protocol: 'TCP', port: metricsPort, targetPort: metricsPort },
      ],
    },
  };
}
