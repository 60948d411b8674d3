// The dapr.io resources the operator serves (spec §6): their API coordinates, their Go encoding and the plain
// TypeScript shapes the rest of the operator works with.
import { apiVersionOf, type KubeObject, type ObjectMeta, type ResourceType } from '@tapr/lib/kube';
import type { Codec } from './goJson.js';
import * as goTypes from './goTypes.js';

export interface SecretKeyRef {
  name?: string;
  key?: string;
}

export interface NameValuePair {
  name?: string;
  value?: unknown;
  secretKeyRef?: SecretKeyRef;
  envRef?: string;
}

export interface DaprResource extends KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta & Record<string, unknown>;
  scopes?: string[];
}

export interface Component extends DaprResource {
  spec?: { type?: string; version?: string; ignoreErrors?: boolean; metadata?: NameValuePair[]; initTimeout?: string };
  auth?: { secretStore?: string };
}

export interface TlsDocument {
  value?: unknown;
  secretKeyRef?: SecretKeyRef;
}

export interface HttpEndpoint extends DaprResource {
  spec?: {
    baseUrl?: string;
    headers?: NameValuePair[];
    clientTLS?: { rootCA?: TlsDocument; certificate?: TlsDocument; privateKey?: TlsDocument; renegotiation?: string };
  };
  auth?: { secretStore?: string };
}

export interface Configuration extends DaprResource {
  spec?: { tracing?: { otel?: { headers?: NameValuePair[] } & Record<string, unknown> } & Record<string, unknown> } & Record<string, unknown>;
}

export type Subscription = DaprResource & { spec?: Record<string, unknown> };
export type Resiliency = DaprResource & { spec?: Record<string, unknown> };

export interface DaprKind<T extends DaprResource> {
  type: ResourceType;
  codec: Codec;
  /** Keeps what the payloads need: drops managedFields (bookkeeping daprd never reads) and fills in kind/apiVersion. */
  slim(raw: T): T;
}

function kind<T extends DaprResource>(plural: string, kindName: string, version: string, codec: Codec): DaprKind<T> {
  const type: ResourceType = { group: 'dapr.io', version, plural, kind: kindName };
  const apiVersion = apiVersionOf(type);
  return {
    type,
    codec,
    slim(raw) {
      const { managedFields: _dropped, ...metadata } = raw.metadata ?? {};
      return { ...raw, kind: kindName, apiVersion, metadata };
    },
  };
}

export const componentKind = kind<Component>('components', 'Component', 'v1alpha1', goTypes.component);
export const configurationKind = kind<Configuration>('configurations', 'Configuration', 'v1alpha1', goTypes.configuration);
/** Subscriptions are served in their storage version; v1alpha1 objects reach us converted (spec §6). */
export const subscriptionKind = kind<Subscription>('subscriptions', 'Subscription', 'v2alpha1', goTypes.subscriptionV2alpha1);
export const resiliencyKind = kind<Resiliency>('resiliencies', 'Resiliency', 'v1alpha1', goTypes.resiliency);
export const httpEndpointKind = kind<HttpEndpoint>('httpendpoints', 'HTTPEndpoint', 'v1alpha1', goTypes.httpEndpoint);

/** Go's json.Marshal of the typed CR, as bytes for the protobuf `bytes` fields. */
export function encode<T extends DaprResource>(kindDef: DaprKind<T>, object: T): Uint8Array {
  return Buffer.from(kindDef.codec.encode(object));
}

/** Whether a resource's `scopes` let the app see it: no scopes means every app of the namespace. */
export function inScope(resource: DaprResource, appId: string): boolean {
  const scopes = resource.scopes;
  return !scopes || scopes.length === 0 || scopes.includes(appId);
}

export function describe(resource: DaprResource): string {
  return `${resource.metadata?.namespace ?? ''}/${resource.metadata?.name ?? ''}`;
}
