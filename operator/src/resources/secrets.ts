// Resolving secretKeyRef values from Kubernetes Secrets before a resource goes to a sidecar (spec §4.2), as Dapr's
// operator does: only when the resource's secret store is Kubernetes (empty `auth.secretStore` or "kubernetes"),
// from the resource's own namespace, key = secretKeyRef.key or else the secret name. Components and HTTPEndpoints
// get the value as a JSON string holding base64(secret bytes) (daprd decodes it); Configuration otel headers get
// the plain text and require a key. A missing Secret fails the resolution — it is reported, never skipped — while a
// Secret without the key leaves the value untouched, as in Dapr.
import type { Component, Configuration, HttpEndpoint, NameValuePair, SecretKeyRef, TlsDocument } from './kinds.js';

/** Reads a Secret's `data` (base64 values); resolves undefined when the Secret does not exist. */
export interface SecretReader {
  read(namespace: string, name: string): Promise<Record<string, string> | undefined>;
}

export type SecretFailure = 'secret-not-found' | 'key-not-found' | 'key-required' | 'read-failed';

export class SecretResolutionError extends Error {
  constructor(
    message: string,
    readonly failure: SecretFailure,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SecretResolutionError';
  }
}

const kubernetesSecretStore = 'kubernetes';

function usesKubernetesStore(resource: { auth?: { secretStore?: string } }): boolean {
  const store = resource.auth?.secretStore ?? '';
  return store === '' || store === kubernetesSecretStore;
}

/** Reads each Secret once per resolution, however many entries refer to it. */
class SecretLookup {
  readonly #cache = new Map<string, Promise<Record<string, string> | undefined>>();
  constructor(
    private readonly reader: SecretReader,
    private readonly namespace: string,
    private readonly owner: string,
  ) {}

  async data(ref: SecretKeyRef, field: string): Promise<Record<string, string>> {
    const name = ref.name ?? '';
    let pending = this.#cache.get(name);
    if (!pending) {
      pending = this.reader.read(this.namespace, name);
      this.#cache.set(name, pending);
    }
    let data: Record<string, string> | undefined;
    try {
      data = await pending;
    } catch (error) {
      throw new SecretResolutionError(
        `${this.owner}: cannot read Secret "${name}" in namespace "${this.namespace}" for ${field}: ${(error as Error).message}`,
        'read-failed',
        { cause: error },
      );
    }
    if (!data) {
      throw new SecretResolutionError(`${this.owner}: Secret "${name}" for ${field} does not exist in namespace "${this.namespace}"`, 'secret-not-found');
    }
    return data;
  }

  /** base64 of the secret bytes, or undefined when the Secret lacks the key. */
  async base64(ref: SecretKeyRef, field: string): Promise<string | undefined> {
    const data = await this.data(ref, field);
    const value = data[ref.key || (ref.name ?? '')];
    // Re-encode: the API server's base64 is canonical already, this only guards against odd padding.
    return value === undefined ? undefined : Buffer.from(value, 'base64').toString('base64');
  }
}

function needsResolution(ref: SecretKeyRef | undefined): ref is SecretKeyRef {
  return Boolean(ref?.name);
}

async function resolvePairs(pairs: NameValuePair[] | undefined, lookup: SecretLookup, what: string): Promise<NameValuePair[] | undefined> {
  if (!pairs) return pairs;
  return Promise.all(
    pairs.map(async (pair) => {
      if (!needsResolution(pair.secretKeyRef)) return pair;
      const value = await lookup.base64(pair.secretKeyRef, `${what} "${pair.name ?? ''}"`);
      return value === undefined ? pair : { ...pair, value };
    }),
  );
}

/** A copy of the Component with its Kubernetes secretKeyRefs resolved (the original is left as cached). */
export async function resolveComponentSecrets(component: Component, reader: SecretReader): Promise<Component> {
  const metadata = component.spec?.metadata;
  if (!usesKubernetesStore(component) || !metadata?.some((pair) => needsResolution(pair.secretKeyRef))) return component;
  const namespace = component.metadata?.namespace ?? '';
  const lookup = new SecretLookup(reader, namespace, `component ${namespace}/${component.metadata?.name ?? ''}`);
  return { ...component, spec: { ...component.spec, metadata: await resolvePairs(metadata, lookup, 'metadata item') } };
}

export async function resolveHttpEndpointSecrets(endpoint: HttpEndpoint, reader: SecretReader): Promise<HttpEndpoint> {
  if (!usesKubernetesStore(endpoint) || !endpoint.spec) return endpoint;
  const namespace = endpoint.metadata?.namespace ?? '';
  const lookup = new SecretLookup(reader, namespace, `HTTPEndpoint ${namespace}/${endpoint.metadata?.name ?? ''}`);
  const spec = { ...endpoint.spec, headers: await resolvePairs(endpoint.spec.headers, lookup, 'header') };
  const tls = endpoint.spec.clientTLS;
  if (tls) {
    const document = async (doc: TlsDocument | undefined, field: string): Promise<TlsDocument | undefined> => {
      if (!doc || !needsResolution(doc.secretKeyRef)) return doc;
      const value = await lookup.base64(doc.secretKeyRef, `clientTLS.${field}`);
      return value === undefined ? doc : { ...doc, value };
    };
    spec.clientTLS = {
      ...tls,
      certificate: await document(tls.certificate, 'certificate'),
      privateKey: await document(tls.privateKey, 'privateKey'),
      rootCA: await document(tls.rootCA, 'rootCA'),
    };
  }
  return { ...endpoint, spec };
}

/** Resolves `spec.tracing.otel.headers[].secretKeyRef` into plain-text values; a key is required (spec §4.1). */
export async function resolveConfigurationSecrets(configuration: Configuration, reader: SecretReader): Promise<Configuration> {
  const otel = configuration.spec?.tracing?.otel;
  const headers = otel?.headers;
  if (!otel || !headers?.some((header) => needsResolution(header.secretKeyRef))) return configuration;
  const namespace = configuration.metadata?.namespace ?? '';
  const lookup = new SecretLookup(reader, namespace, `configuration ${namespace}/${configuration.metadata?.name ?? ''}`);
  const resolved = await Promise.all(
    headers.map(async (header) => {
      if (!needsResolution(header.secretKeyRef)) return header;
      const ref = header.secretKeyRef;
      const field = `otel header "${header.name ?? ''}"`;
      if (!ref.key) throw new SecretResolutionError(`secret key is required for ${field}`, 'key-required');
      const data = await lookup.data(ref, field);
      const value = data[ref.key];
      if (value === undefined) {
        throw new SecretResolutionError(`key "${ref.key}" not found in Secret "${ref.name}" for ${field}`, 'key-not-found');
      }
      return { ...header, value: Buffer.from(value, 'base64').toString('utf8') };
    }),
  );
  const spec = configuration.spec!;
  return { ...configuration, spec: { ...spec, tracing: { ...spec.tracing, otel: { ...otel, headers: resolved } } } };
}
