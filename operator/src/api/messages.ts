// Names for the generated Operator message classes (instances), so the rest of the code can say
// `ComponentUpdateEvent` instead of InstanceType<…> each time.
import type * as protos from '@tapr/lib/protos';

type M = typeof protos.operator;
export type ListComponentsRequest = InstanceType<M['ListComponentsRequest']>;
export type ListComponentResponse = InstanceType<M['ListComponentResponse']>;
export type ComponentUpdateRequest = InstanceType<M['ComponentUpdateRequest']>;
export type ComponentUpdateEvent = InstanceType<M['ComponentUpdateEvent']>;
export type GetConfigurationRequest = InstanceType<M['GetConfigurationRequest']>;
export type GetConfigurationResponse = InstanceType<M['GetConfigurationResponse']>;
export type ListSubscriptionsRequest = InstanceType<M['ListSubscriptionsRequest']>;
export type SubscriptionUpdateRequest = InstanceType<M['SubscriptionUpdateRequest']>;
export type SubscriptionUpdateEvent = InstanceType<M['SubscriptionUpdateEvent']>;
export type GetResiliencyRequest = InstanceType<M['GetResiliencyRequest']>;
export type ListResiliencyRequest = InstanceType<M['ListResiliencyRequest']>;
export type ListHTTPEndpointsRequest = InstanceType<M['ListHTTPEndpointsRequest']>;
export type HTTPEndpointUpdateRequest = InstanceType<M['HTTPEndpointUpdateRequest']>;
export type HTTPEndpointUpdateEvent = InstanceType<M['HTTPEndpointUpdateEvent']>;
export type ListSubscriptionsResponse = InstanceType<M['ListSubscriptionsResponse']>;
export type ListResiliencyResponse = InstanceType<M['ListResiliencyResponse']>;
export type ListHTTPEndpointsResponse = InstanceType<M['ListHTTPEndpointsResponse']>;
export type GetResiliencyResponse = InstanceType<M['GetResiliencyResponse']>;
