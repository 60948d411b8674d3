// Converting Subscriptions between v1alpha1 and v2alpha1 for the API server's conversion webhook (spec §4.4, §6),
// field for field as Dapr does: v1alpha1's `route` is v2alpha1's `routes.default`; routing rules exist only in
// v2alpha1 and are lost going down (Dapr's conversion drops them too). Fields neither version has are dropped.

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

export class ConversionError extends Error {}

export const subscriptionVersions = ['dapr.io/v1alpha1', 'dapr.io/v2alpha1'] as const;

function bulkSubscribe(value: unknown): Json | undefined {
  if (!isObject(value)) return undefined;
  const out: Json = {};
  for (const key of ['enabled', 'maxMessagesCount', 'maxAwaitDurationMs']) if (value[key] !== undefined) out[key] = value[key];
  return out;
}

function common(source: Json, apiVersion: string, spec: Json): Json {
  const out: Json = { apiVersion, kind: source['kind'] ?? 'Subscription', metadata: source['metadata'], spec };
  if (source['scopes'] !== undefined) out['scopes'] = source['scopes'];
  return out;
}

function defined(entries: Array<[string, unknown]>): Json {
  return Object.fromEntries(entries.filter(([, value]) => value !== undefined));
}

/** Converts one Subscription object to `desiredApiVersion`; objects already in that version come back unchanged. */
export function convertSubscription(object: unknown, desiredApiVersion: string): Json {
  if (!isObject(object)) throw new ConversionError('the object to convert is not a JSON object');
  const from = object['apiVersion'];
  if (!subscriptionVersions.includes(desiredApiVersion as (typeof subscriptionVersions)[number])) {
    throw new ConversionError(`cannot convert to ${desiredApiVersion}: Subscriptions exist as ${subscriptionVersions.join(' and ')}`);
  }
  if (from === desiredApiVersion) return object;
  const spec = isObject(object['spec']) ? object['spec'] : {};
  if (from === 'dapr.io/v1alpha1') {
    const routes = spec['route'] === undefined ? {} : { default: spec['route'] };
    return common(
      object,
      desiredApiVersion,
      defined([
        ['pubsubname', spec['pubsubname']],
        ['topic', spec['topic']],
        ['metadata', spec['metadata']],
        ['routes', routes],
        ['deadLetterTopic', spec['deadLetterTopic']],
        ['bulkSubscribe', bulkSubscribe(spec['bulkSubscribe'])],
      ]),
    );
  }
  if (from === 'dapr.io/v2alpha1') {
    const routes = isObject(spec['routes']) ? spec['routes'] : {};
    return common(
      object,
      desiredApiVersion,
      defined([
        ['topic', spec['topic']],
        ['pubsubname', spec['pubsubname']],
        ['metadata', spec['metadata']],
        ['route', routes['default']],
        ['bulkSubscribe', bulkSubscribe(spec['bulkSubscribe'])],
        ['deadLetterTopic', spec['deadLetterTopic']],
      ]),
    );
  }
  throw new ConversionError(`cannot convert a Subscription of apiVersion ${JSON.stringify(from)}`);
}

export interface ConversionReview {
  apiVersion?: string;
  kind?: string;
  request?: { uid?: string; desiredAPIVersion?: string; objects?: unknown[] };
}

/** Answers an apiextensions.k8s.io/v1 ConversionReview; a failure is reported in `response.result`. */
export function reviewConversion(review: ConversionReview): Json {
  const request = review.request;
  const uid = request?.uid ?? '';
  const respond = (extra: Json) => ({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'ConversionReview', response: { uid, ...extra } });
  if (!request || !request.desiredAPIVersion) {
    return respond({ convertedObjects: [], result: { status: 'Failure', message: 'the ConversionReview has no request.desiredAPIVersion' } });
  }
  try {
    const convertedObjects = (request.objects ?? []).map((object) => convertSubscription(object, request.desiredAPIVersion!));
    return respond({ convertedObjects, result: { status: 'Success' } });
  } catch (error) {
    return respond({ convertedObjects: [], result: { status: 'Failure', message: (error as Error).message } });
  }
}
