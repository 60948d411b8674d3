// The `dapr.proto.operator.v1.Operator` service as daprd uses it (spec §4.1): reads come from the informer caches,
// every call is authorised by the caller's SPIFFE ID, payloads are the Go JSON of the CRs with Kubernetes secrets
// resolved. gRPC statuses are chosen here and nowhere else:
//   PERMISSION_DENIED  no identity, or a namespace other than the caller's;
//   NOT_FOUND          a named Configuration/Resiliency that does not exist;
//   FAILED_PRECONDITION a secretKeyRef that cannot be resolved (missing Secret or key) — the cluster must change;
//   UNAVAILABLE        reading a Secret failed (API server trouble) — retrying may help;
//   INTERNAL           anything unexpected.
import * as grpc from '@grpc/grpc-js';
import * as protos from '@tapr/lib/protos';
import type { callerSpiffeId } from '@tapr/lib/security/grpcTls';
import type { Logger } from '@tapr/lib/logger';
import type { SpiffeId } from '@tapr/lib/security/spiffe';
import {
  componentKind,
  configurationKind,
  encode,
  httpEndpointKind,
  inScope,
  resiliencyKind,
  subscriptionKind,
  type DaprResource,
} from '../resources/kinds.js';
import type { ProblemReporter } from '../resources/problems.js';
import {
  resolveComponentSecrets,
  resolveConfigurationSecrets,
  resolveHttpEndpointSecrets,
  SecretResolutionError,
  type SecretReader,
} from '../resources/secrets.js';
import type { DaprCaches } from '../resources/store.js';
import { ApiError, authorize, toServiceError } from './authz.js';
import type * as Messages from './messages.js';
import { grpcSink, type StreamKind, type UpdateHub } from './updateHub.js';

type Call = Parameters<typeof callerSpiffeId>[0] & { getPeer(): string };

export interface OperatorServiceOptions {
  caches: DaprCaches;
  secrets: SecretReader;
  hub: UpdateHub;
  problems?: ProblemReporter;
  logger: Logger;
  /** The caller's SPIFFE ID from its verified client certificate (callerSpiffeId in production). */
  identify: (call: Call) => SpiffeId | undefined;
}

export class OperatorService {
  constructor(private readonly options: OperatorServiceOptions) {}

  /** The handlers, keyed as grpc-js expects for `protos.operatorGrpc.OperatorService`. */
  implementation(): grpc.UntypedServiceImplementation {
    return {
      listComponents: this.#unary('ListComponents', (call: grpc.ServerUnaryCall<Messages.ListComponentsRequest, unknown>) => this.#listComponents(call)),
      getConfiguration: this.#unary('GetConfiguration', (call: grpc.ServerUnaryCall<Messages.GetConfigurationRequest, unknown>) =>
        this.#getConfiguration(call),
      ),
      // Dapr's ListSubscriptions passes an empty namespace on, which no identity matches.
      listSubscriptions: this.#unary('ListSubscriptions', async (call: grpc.ServerUnaryCall<unknown, unknown>) => {
        authorize(this.options.identify(call), '');
        return new protos.operator.ListSubscriptionsResponse();
      }),
      listSubscriptionsV2: this.#unary('ListSubscriptionsV2', async (call: grpc.ServerUnaryCall<Messages.ListSubscriptionsRequest, unknown>) => {
        const namespace = this.#authorize(call, call.request.getNamespace()).namespace;
        const response = new protos.operator.ListSubscriptionsResponse();
        response.setSubscriptionsList(sorted(this.options.caches.subscriptions.list(namespace)).map((s) => encode(subscriptionKind, s)));
        return response;
      }),
      getResiliency: this.#unary('GetResiliency', async (call: grpc.ServerUnaryCall<Messages.GetResiliencyRequest, unknown>) => {
        const namespace = this.#authorize(call, call.request.getNamespace()).namespace;
        const name = call.request.getName();
        const resiliency = this.options.caches.resiliencies.get(namespace, name);
        if (!resiliency) throw new ApiError(grpc.status.NOT_FOUND, `error getting resiliency: resiliencies.dapr.io "${name}" not found in namespace "${namespace}"`);
        const response = new protos.operator.GetResiliencyResponse();
        response.setResiliency(encode(resiliencyKind, resiliency));
        return response;
      }),
      listResiliency: this.#unary('ListResiliency', async (call: grpc.ServerUnaryCall<Messages.ListResiliencyRequest, unknown>) => {
        const namespace = this.#authorize(call, call.request.getNamespace()).namespace;
        const response = new protos.operator.ListResiliencyResponse();
        response.setResilienciesList(sorted(this.options.caches.resiliencies.list(namespace)).map((r) => encode(resiliencyKind, r)));
        return response;
      }),
      listHTTPEndpoints: this.#unary('ListHTTPEndpoints', async (call: grpc.ServerUnaryCall<Messages.ListHTTPEndpointsRequest, unknown>) => {
        const namespace = this.#authorize(call, call.request.getNamespace()).namespace;
        const endpoints = sorted(this.options.caches.httpEndpoints.list(namespace));
        const resolved = await Promise.all(
          endpoints.map((endpoint) => this.#resolve('HTTPEndpoint', endpoint, () => resolveHttpEndpointSecrets(endpoint, this.options.secrets))),
        );
        const response = new protos.operator.ListHTTPEndpointsResponse();
        response.setHttpEndpointsList(resolved.map((endpoint) => encode(httpEndpointKind, endpoint)));
        return response;
      }),
      componentUpdate: (call: grpc.ServerWritableStream<Messages.ComponentUpdateRequest, Messages.ComponentUpdateEvent>) =>
        this.#stream('components', call, call.request.getNamespace(), call.request.getPodname()),
      subscriptionUpdate: (call: grpc.ServerWritableStream<Messages.SubscriptionUpdateRequest, Messages.SubscriptionUpdateEvent>) =>
        this.#stream('subscriptions', call, call.request.getNamespace(), call.request.getPodname()),
      hTTPEndpointUpdate: (call: grpc.ServerWritableStream<Messages.HTTPEndpointUpdateRequest, Messages.HTTPEndpointUpdateEvent>) =>
        this.#stream('httpendpoints', call, call.request.getNamespace(), call.request.getPodName()),
    };
  }

  async #listComponents(call: grpc.ServerUnaryCall<Messages.ListComponentsRequest, unknown>): Promise<Messages.ListComponentResponse> {
    const caller = this.#authorize(call, call.request.getNamespace());
    const components = sorted(this.options.caches.components.list(caller.namespace)).filter((c) => inScope(c, caller.appId));
    const resolved = await Promise.all(
      components.map((component) => this.#resolve('Component', component, () => resolveComponentSecrets(component, this.options.secrets))),
    );
    const response = new protos.operator.ListComponentResponse();
    response.setComponentsList(resolved.map((component) => encode(componentKind, component)));
    return response;
  }

  async #getConfiguration(call: grpc.ServerUnaryCall<Messages.GetConfigurationRequest, unknown>): Promise<Messages.GetConfigurationResponse> {
    const namespace = this.#authorize(call, call.request.getNamespace()).namespace;
    const name = call.request.getName();
    const configuration = this.options.caches.configurations.get(namespace, name);
    if (!configuration) {
      throw new ApiError(grpc.status.NOT_FOUND, `error getting configuration ${namespace}/${name}: configurations.dapr.io "${name}" not found`);
    }
    const resolved = await this.#resolve('Configuration', configuration, () => resolveConfigurationSecrets(configuration, this.options.secrets));
    const response = new protos.operator.GetConfigurationResponse();
    response.setConfiguration(encode(configurationKind, resolved));
    return response;
  }

  #authorize(call: Call, namespace: string): SpiffeId {
    return authorize(this.options.identify(call), namespace);
  }

  async #resolve<T extends DaprResource>(kind: string, resource: T, resolve: () => Promise<T>): Promise<T> {
    try {
      return await resolve();
    } catch (error) {
      if (!(error instanceof SecretResolutionError)) throw error;
      this.options.problems?.secretFailure(kind, resource, error);
      const code = error.failure === 'read-failed' ? grpc.status.UNAVAILABLE : grpc.status.FAILED_PRECONDITION;
      throw new ApiError(code, `error processing ${kind.toLowerCase()} secrets: ${error.message}`, { cause: error });
    }
  }

  #unary<C extends grpc.ServerUnaryCall<unknown, unknown>, R>(method: string, handle: (call: C) => Promise<R>): grpc.handleUnaryCall<unknown, R> {
    return (call, callback) => {
      handle(call as C).then(
        (response) => callback(null, response),
        (error: unknown) => {
          const level = error instanceof ApiError && error.code === grpc.status.PERMISSION_DENIED ? 'warn' : 'error';
          this.options.logger[level](`${method} failed`, { peer: call.getPeer(), error });
          callback(toServiceError(error) as grpc.ServiceError);
        },
      );
    };
  }

  #stream<M>(kind: StreamKind, call: grpc.ServerWritableStream<unknown, M>, namespace: string, podName: string): void {
    let caller: SpiffeId;
    try {
      caller = this.#authorize(call, namespace);
    } catch (error) {
      this.options.logger.warn('update stream refused', { kind, peer: call.getPeer(), error });
      call.emit('error', toServiceError(error));
      return;
    }
    let remove: () => void;
    try {
      remove = this.options.hub.add<M>(kind, { namespace, appId: caller.appId, sink: grpcSink(call) });
    } catch (error) {
      call.emit('error', { code: grpc.status.UNAVAILABLE, details: (error as Error).message });
      return;
    }
    this.options.logger.info(`sidecar connected for ${kind} updates`, { namespace, appId: caller.appId, pod: podName });
    const done = () => {
      remove();
      this.options.logger.debug(`sidecar disconnected from ${kind} updates`, { namespace, appId: caller.appId, pod: podName });
    };
    call.once('cancelled', done);
    call.once('close', done);
    call.once('finish', done);
  }
}

function sorted<T extends DaprResource>(resources: T[]): T[] {
  return resources.sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
}
