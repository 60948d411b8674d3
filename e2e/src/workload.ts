// What a sidecar does against the control plane, done by the test with the sidecar's own credentials: a token bound
// to an injected pod (the projected volume the injector added), an SVID from sentry for it, and gRPC clients to the
// operator and placement that present that SVID and accept only the control plane's SPIFFE IDs.
import * as grpc from '@grpc/grpc-js';
import type { V1Pod } from '@kubernetes/client-node';
import {
  SentrySvidSource,
  StaticSvidSource,
  controlPlaneId,
  grpcClientCredentials,
  protos,
  silentLogger,
  type ControlPlaneService,
  type Svid,
} from '@tapr/lib';
import type { LocalKubelet } from './localKubelet.js';

export interface ControlPlaneIdentity {
  trustDomain: string;
  namespace: string;
}

/** The audience and lifetime of the sentry token the injector put into the pod. */
export function sentryTokenProjection(pod: V1Pod): { audience: string; expirationSeconds: number } {
  const volume = pod.spec?.volumes?.find((v) => v.name === 'dapr-identity-token');
  const source = volume?.projected?.sources?.find((s) => s.serviceAccountToken)?.serviceAccountToken;
  if (!source?.audience) throw new Error(`pod ${pod.metadata?.name} has no dapr-identity-token projected token`);
  return { audience: source.audience, expirationSeconds: source.expirationSeconds ?? 3600 };
}

export interface WorkloadSvidRequest {
  kubelet: LocalKubelet;
  pod: V1Pod;
  sentryAddress: string;
  trustAnchorsPem: string;
  controlPlane: ControlPlaneIdentity;
  /** The id asked for (daprd: its app id). */
  id: string;
}

/** One SignCertificate round trip as daprd makes it, with the pod's projected token. */
export async function workloadSvid(request: WorkloadSvidRequest): Promise<Svid> {
  const { audience, expirationSeconds } = sentryTokenProjection(request.pod);
  const token = await request.kubelet.token(request.pod, audience, expirationSeconds);
  const source = new SentrySvidSource({
    sentryAddress: request.sentryAddress,
    trustAnchors: () => request.trustAnchorsPem,
    trustDomain: request.controlPlane.trustDomain,
    controlPlaneNamespace: request.controlPlane.namespace,
    id: request.id,
    namespace: request.pod.metadata!.namespace!,
    token: () => token,
    validator: 'KUBERNETES',
    logger: silentLogger(),
    requestTimeoutMs: 10_000,
  });
  return source.fetch();
}

/** mTLS credentials presenting `svid` that accept only `service`'s SPIFFE ID. */
export function credentialsFor(svid: Svid, service: ControlPlaneService, controlPlane: ControlPlaneIdentity): grpc.ChannelCredentials {
  return grpcClientCredentials({
    trustAnchorsPem: () => svid.trustAnchorsPem,
    serverId: controlPlaneId(service, controlPlane.trustDomain, controlPlane.namespace),
    source: new StaticSvidSource(svid),
  });
}

export interface ComponentEvent {
  type: number;
  component: { metadata?: { name?: string; namespace?: string }; spec?: { type?: string; metadata?: Array<{ name: string; value?: unknown }> } };
}

/** daprd's hot-reload stream of Components (Operator/ComponentUpdate), collecting what arrives. */
export class ComponentStream {
  readonly events: ComponentEvent[] = [];
  status: grpc.StatusObject | undefined;
  readonly #client: InstanceType<typeof protos.operatorGrpc.OperatorClient>;
  readonly #call: grpc.ClientReadableStream<InstanceType<typeof protos.operator.ComponentUpdateEvent>>;

  constructor(address: string, credentials: grpc.ChannelCredentials, namespace: string, podName: string) {
    this.#client = new protos.operatorGrpc.OperatorClient(address, credentials);
    const request = new protos.operator.ComponentUpdateRequest().setNamespace(namespace).setPodname(podName);
    this.#call = this.#client.componentUpdate(request);
    this.#call.on('data', (event: InstanceType<typeof protos.operator.ComponentUpdateEvent>) => {
      this.events.push({ type: event.getType(), component: JSON.parse(Buffer.from(event.getComponent_asU8()).toString('utf8')) });
    });
    this.#call.on('status', (status: grpc.StatusObject) => (this.status = status));
    this.#call.on('error', () => undefined);
  }

  close(): void {
    this.#call.cancel();
    this.#client.close();
  }
}

/** Operator/ListComponents: the JSON of every Component the caller may load. */
export function listComponents(address: string, credentials: grpc.ChannelCredentials, namespace: string, podName: string): Promise<ComponentEvent['component'][]> {
  const client = new protos.operatorGrpc.OperatorClient(address, credentials);
  const request = new protos.operator.ListComponentsRequest().setNamespace(namespace).setPodname(podName);
  return new Promise((resolve, reject) => {
    client.listComponents(request, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (error, response) => {
      client.close();
      if (error) reject(error);
      else resolve(response.getComponentsList_asU8().map((bytes) => JSON.parse(Buffer.from(bytes).toString('utf8'))));
    });
  });
}
