// The MutatingWebhookConfiguration tapr recommends (and its tests register): Dapr's registration (spec §5.1) with
// three deliberate differences, each so that an annotated pod never starts without its sidecar and a broken
// injector cannot stall the cluster:
//   failurePolicy Fail    — Dapr's default Ignore lets annotated pods start silently without a sidecar when the
//                            injector is down or slow; Fail makes the controller retry until it is back.
//   matchConditions       — the API server calls the webhook only for pods that carry dapr.io/enabled, so Fail
//                            can never block other pods (CEL, evaluated by the API server; GA since 1.30).
//   namespaceSelector     — kube-system and the control-plane namespace are never sent, so the injector's own
//                            pods (and the cluster's) start even when no injector is running.
//   timeoutSeconds 5      — admission needs no I/O on the hot path (p99 well under a millisecond), so 5 s only
//                            bounds a stuck injector; the API server's default of 10 s would hold the controller
//                            that creates the pod for longer before it retries.
import type { V1LabelSelector, V1MutatingWebhookConfiguration } from '@kubernetes/client-node';

export interface WebhookConfigurationOptions {
  name?: string;
  /** The control-plane namespace: its Service `dapr-sidecar-injector` is the target and it is excluded. */
  controlPlaneNamespace: string;
  /** Development/tests: call this URL instead of the Service. */
  url?: string;
  caBundle?: string;
  /** Replaces the default selector (everything except kube-system and the control-plane namespace). */
  namespaceSelector?: V1LabelSelector;
  failurePolicy?: 'Fail' | 'Ignore';
  timeoutSeconds?: number;
}

export const webhookName = 'sidecar-injector.dapr.io';

export const daprEnabledMatchCondition = {
  name: 'has-dapr-enabled-annotation',
  expression: "has(object.metadata.annotations) && 'dapr.io/enabled' in object.metadata.annotations",
};

export function sidecarInjectorWebhookConfiguration(options: WebhookConfigurationOptions): V1MutatingWebhookConfiguration {
  const clientConfig = options.url
    ? { url: options.url }
    : { service: { namespace: options.controlPlaneNamespace, name: 'dapr-sidecar-injector', path: '/mutate', port: 443 } };
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: options.name ?? 'dapr-sidecar-injector', labels: { app: 'dapr-sidecar-injector' } },
    webhooks: [
      {
        name: webhookName,
        reinvocationPolicy: 'IfNeeded',
        clientConfig: { ...clientConfig, ...(options.caBundle ? { caBundle: options.caBundle } : {}) },
        rules: [{ apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], operations: ['CREATE'] }],
        failurePolicy: options.failurePolicy ?? 'Fail',
        timeoutSeconds: options.timeoutSeconds ?? 5,
        sideEffects: 'None',
        admissionReviewVersions: ['v1', 'v1beta1'],
        matchConditions: [daprEnabledMatchCondition],
        namespaceSelector: options.namespaceSelector ?? {
          matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', options.controlPlaneNamespace] }],
        },
      },
    ],
  };
}
