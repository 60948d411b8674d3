// Go struct layouts of the dapr.io CRs as Dapr 1.17 declares them (pkg/apis/*, k8s.io/apimachinery metav1), for
// encoding the payloads the operator sends (goJson.ts). Field order, names and omitempty follow the Go tags.
import { bool, duration, f, int, map, o, pointer, rawJson, slice, string, struct, time, type Codec } from './goJson.js';

const typeMeta = struct([o('kind', string), o('apiVersion', string)]);

const ownerReference = struct([
  f('apiVersion', string),
  f('kind', string),
  f('name', string),
  f('uid', string),
  o('controller', pointer(bool)),
  o('blockOwnerDeletion', pointer(bool)),
]);

const managedFieldsEntry = struct([
  o('manager', string),
  o('operation', string),
  o('apiVersion', string),
  o('time', pointer(time)),
  o('fieldsType', string),
  o('fieldsV1', pointer(rawJson)),
  o('subresource', string),
]);

export const objectMeta = struct([
  o('name', string),
  o('generateName', string),
  o('namespace', string),
  o('selfLink', string),
  o('uid', string),
  o('resourceVersion', string),
  o('generation', int),
  o('creationTimestamp', time),
  o('deletionTimestamp', pointer(time)),
  o('deletionGracePeriodSeconds', pointer(int)),
  o('labels', map(string)),
  o('annotations', map(string)),
  o('ownerReferences', slice(ownerReference)),
  o('finalizers', slice(string)),
  o('managedFields', slice(managedFieldsEntry)),
]);

// pkg/apis/common
const secretKeyRef = struct([f('name', string), f('key', string)]);
const nameValuePair = struct([f('name', string), o('value', rawJson), o('secretKeyRef', secretKeyRef), o('envRef', string)]);
const tlsDocument = struct([o('value', pointer(rawJson)), o('secretKeyRef', pointer(secretKeyRef))]);
const tls = struct([
  f('rootCA', pointer(tlsDocument)),
  f('certificate', pointer(tlsDocument)),
  f('privateKey', pointer(tlsDocument)),
  f('renegotiation', pointer(string)),
]);
const scoped = struct([o('scopes', slice(string))]);
const auth = struct([f('secretStore', string)]);

// components/v1alpha1
export const component: Codec = struct([
  { inline: typeMeta },
  o('metadata', objectMeta),
  o('spec', struct([f('type', string), f('version', string), f('ignoreErrors', bool), f('metadata', slice(nameValuePair)), f('initTimeout', string)])),
  o('auth', auth),
  { inline: scoped },
]);

// httpEndpoint/v1alpha1
export const httpEndpoint: Codec = struct([
  { inline: typeMeta },
  o('metadata', objectMeta),
  o('spec', struct([f('baseUrl', string), f('headers', slice(nameValuePair)), o('clientTLS', pointer(tls))])),
  o('auth', auth),
  { inline: scoped },
]);

// subscriptions/v2alpha1 and v1alpha1
const bulkSubscribe = struct([f('enabled', bool), o('maxMessagesCount', int), o('maxAwaitDurationMs', int)]);

export const subscriptionV2alpha1: Codec = struct([
  { inline: typeMeta },
  o('metadata', objectMeta),
  o(
    'spec',
    struct([
      f('pubsubname', string),
      f('topic', string),
      o('metadata', map(string)),
      f('routes', struct([o('rules', slice(struct([f('match', string), f('path', string)]))), o('default', string)])),
      o('deadLetterTopic', string),
      o('bulkSubscribe', bulkSubscribe),
    ]),
  ),
  o('scopes', slice(string)),
]);

export const subscriptionV1alpha1: Codec = struct([
  { inline: typeMeta },
  o('metadata', objectMeta),
  o(
    'spec',
    struct([
      f('topic', string),
      f('pubsubname', string),
      o('metadata', map(string)),
      f('route', string),
      o('bulkSubscribe', bulkSubscribe),
      o('deadLetterTopic', string),
    ]),
  ),
  o('scopes', slice(string)),
]);

// resiliency/v1alpha1
const retry = struct([
  o('policy', string),
  o('duration', string),
  o('maxInterval', string),
  o('maxRetries', pointer(int)),
  o('matching', pointer(struct([o('httpStatusCodes', string), o('gRPCStatusCodes', string)]))),
]);
const circuitBreaker = struct([o('maxRequests', int), o('interval', string), o('timeout', string), o('trip', string)]);
const policyNames = struct([o('timeout', string), o('retry', string), o('circuitBreaker', string)]);
const endpointPolicyNames = struct([o('timeout', string), o('retry', string), o('circuitBreaker', string), o('circuitBreakerCacheSize', int)]);
const actorPolicyNames = struct([
  o('timeout', string),
  o('retry', string),
  o('circuitBreaker', string),
  o('circuitBreakerScope', string),
  o('circuitBreakerCacheSize', int),
]);

export const resiliency: Codec = struct([
  { inline: typeMeta },
  o('metadata', objectMeta),
  o(
    'spec',
    struct([
      f('policies', struct([o('timeouts', map(string)), o('retries', map(retry)), o('circuitBreakers', map(circuitBreaker))])),
      f(
        'targets',
        struct([
          o('apps', map(endpointPolicyNames)),
          o('actors', map(actorPolicyNames)),
          o('components', map(struct([o('inbound', policyNames), o('outbound', policyNames)]))),
        ]),
      ),
    ]),
  ),
  o('scopes', slice(string)),
]);

// configuration/v1alpha1
const pipeline = struct([
  f(
    'handlers',
    slice(struct([f('name', string), f('type', string), o('selector', pointer(struct([f('fields', slice(struct([f('field', string), f('value', string)])))])))])),
  ),
]);
const otel = struct([
  f('protocol', string),
  f('endpointAddress', string),
  f('isSecure', pointer(bool)),
  o('headers', slice(nameValuePair)),
  o('timeout', pointer(duration)),
]);
const tracing = struct([
  f('samplingRate', string),
  o('stdout', pointer(bool)),
  o('zipkin', pointer(struct([f('endpointAddress', string)]))),
  o('otel', pointer(otel)),
]);
const metricSpec = struct([
  f('enabled', pointer(bool)),
  o('recordErrorCodes', pointer(bool)),
  o('http', pointer(struct([o('increasedCardinality', pointer(bool)), o('pathMatching', slice(string)), o('excludeVerbs', pointer(bool))]))),
  o('rules', slice(struct([f('name', string), f('labels', slice(struct([f('name', string), f('regex', map(string))])))]))),
  o('latencyDistributionBuckets', pointer(slice(int))),
]);
const mtls = struct([
  f('enabled', pointer(bool)),
  o('workloadCertTTL', pointer(string)),
  o('allowedClockSkew', pointer(string)),
  f('sentryAddress', string),
  f('controlPlaneTrustDomain', string),
  o('tokenValidators', slice(struct([f('name', string), o('options', pointer(rawJson))]))),
]);
const secrets = struct([
  f(
    'scopes',
    slice(struct([f('storeName', string), o('defaultAccess', string), o('allowedSecrets', slice(string)), o('deniedSecrets', slice(string))])),
  ),
]);
const accessControl = struct([
  o('defaultAction', string),
  o('trustDomain', string),
  o(
    'policies',
    slice(
      struct([
        f('appId', string),
        o('defaultAction', string),
        o('trustDomain', string),
        o('namespace', string),
        o('operations', slice(struct([f('name', string), f('action', string), o('httpVerb', slice(string))]))),
      ]),
    ),
  ),
]);
const apiAccessRule = struct([f('name', string), f('version', string), o('protocol', string)]);
const workflow = struct([
  o('maxConcurrentWorkflowInvocations', int),
  o('maxConcurrentActivityInvocations', int),
  o(
    'stateRetentionPolicy',
    pointer(struct([o('anyTerminal', pointer(duration)), o('completed', pointer(duration)), o('failed', pointer(duration)), o('terminated', pointer(duration))])),
  ),
]);

export const configuration: Codec = struct([
  { inline: typeMeta },
  o('metadata', objectMeta),
  o(
    'spec',
    struct([
      o('appHttpPipeline', pointer(pipeline)),
      o('httpPipeline', pointer(pipeline)),
      o('tracing', pointer(tracing)),
      o('metric', pointer(metricSpec)),
      o('metrics', pointer(metricSpec)),
      o('mtls', pointer(mtls)),
      o('secrets', pointer(secrets)),
      o('accessControl', pointer(accessControl)),
      o('nameResolution', pointer(struct([f('component', string), f('version', string), f('configuration', pointer(rawJson))]))),
      o('features', slice(struct([f('name', string), f('enabled', pointer(bool))]))),
      o('api', pointer(struct([o('allowed', slice(apiAccessRule)), o('denied', slice(apiAccessRule))]))),
      o('components', pointer(struct([o('deny', slice(string))]))),
      o('logging', pointer(struct([o('apiLogging', pointer(struct([o('enabled', pointer(bool)), o('obfuscateURLs', pointer(bool)), o('omitHealthChecks', pointer(bool))])))]))),
      o('wasm', pointer(struct([o('strictSandbox', bool)]))),
      o('workflow', pointer(workflow)),
    ]),
  ),
]);
