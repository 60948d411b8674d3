import type { Component, Configuration, HttpEndpoint } from './kinds.js';
import { resolveComponentSecrets, resolveConfigurationSecrets, resolveHttpEndpointSecrets, SecretResolutionError, type SecretReader } from './secrets.js';

const b64 = (text: string) => Buffer.from(text).toString('base64');

function reader(secrets: Record<string, Record<string, string>>): SecretReader & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    async read(namespace, name) {
      reads.push(`${namespace}/${name}`);
      if (name === 'broken') throw new Error('503 Service Unavailable');
      return secrets[`${namespace}/${name}`];
    },
  };
}

const component = (metadata: NonNullable<Component['spec']>['metadata'], secretStore?: string): Component => ({
  metadata: { name: 'store', namespace: 'ns-a' },
  spec: { type: 'state.redis', version: 'v1', metadata },
  ...(secretStore === undefined ? {} : { auth: { secretStore } }),
});

describe('resolveComponentSecrets', () => {
  describe('when the component uses the Kubernetes secret store', () => {
    it('puts base64 of the secret bytes as the value, defaulting the key to the secret name, and reads each Secret once', async () => {
      const secrets = reader({ 'ns-a/redis': { password: b64('s3cr3t'), redis: b64('by-name') } });
      const resolved = await resolveComponentSecrets(
        component([
          { name: 'redisPassword', secretKeyRef: { name: 'redis', key: 'password' } },
          { name: 'other', secretKeyRef: { name: 'redis' } },
          { name: 'plain', value: 'x' },
        ]),
        secrets,
      );
      expect(resolved.spec?.metadata).toEqual([
        { name: 'redisPassword', secretKeyRef: { name: 'redis', key: 'password' }, value: b64('s3cr3t') },
        { name: 'other', secretKeyRef: { name: 'redis' }, value: b64('by-name') },
        { name: 'plain', value: 'x' },
      ]);
      expect(secrets.reads).toEqual(['ns-a/redis']);
    });

    it('leaves the value alone when the Secret lacks the key, as Dapr does', async () => {
      const resolved = await resolveComponentSecrets(component([{ name: 'p', secretKeyRef: { name: 'redis', key: 'nope' } }]), reader({ 'ns-a/redis': {} }));
      expect(resolved.spec?.metadata?.[0]).toEqual({ name: 'p', secretKeyRef: { name: 'redis', key: 'nope' } });
    });

    it('fails, naming the Secret and the metadata item, when the Secret does not exist or cannot be read', async () => {
      const missing = resolveComponentSecrets(component([{ name: 'p', secretKeyRef: { name: 'gone', key: 'k' } }], 'kubernetes'), reader({}));
      await expect(missing).rejects.toThrow(SecretResolutionError);
      await expect(missing).rejects.toThrow(/Secret "gone" for metadata item "p" does not exist in namespace "ns-a"/);
      await expect(resolveComponentSecrets(component([{ name: 'p', secretKeyRef: { name: 'broken' } }]), reader({}))).rejects.toMatchObject({
        failure: 'read-failed',
      });
    });
  });

  describe('when the component names another secret store', () => {
    it('leaves secretKeyRefs for daprd to resolve', async () => {
      const input = component([{ name: 'p', secretKeyRef: { name: 'vault-secret', key: 'k' } }], 'vault');
      const secrets = reader({});
      expect(await resolveComponentSecrets(input, secrets)).toBe(input);
      expect(secrets.reads).toEqual([]);
    });
  });
});

describe('resolveHttpEndpointSecrets', () => {
  it('resolves headers and clientTLS documents the same way as components', async () => {
    const endpoint: HttpEndpoint = {
      metadata: { name: 'api', namespace: 'ns-a' },
      spec: {
        baseUrl: 'https://api.example',
        headers: [{ name: 'Authorization', secretKeyRef: { name: 'api', key: 'token' } }],
        clientTLS: { rootCA: { secretKeyRef: { name: 'api', key: 'ca' } }, certificate: { value: 'inline' } },
      },
    };
    const resolved = await resolveHttpEndpointSecrets(endpoint, reader({ 'ns-a/api': { token: b64('Bearer x'), ca: b64('PEM') } }));
    expect(resolved.spec?.headers?.[0]?.value).toBe(b64('Bearer x'));
    expect(resolved.spec?.clientTLS?.rootCA).toEqual({ secretKeyRef: { name: 'api', key: 'ca' }, value: b64('PEM') });
    expect(resolved.spec?.clientTLS?.certificate).toEqual({ value: 'inline' });
  });
});

describe('resolveConfigurationSecrets', () => {
  const configuration = (ref: { name: string; key?: string }): Configuration => ({
    metadata: { name: 'appconfig', namespace: 'ns-a' },
    spec: { tracing: { samplingRate: '1', otel: { headers: [{ name: 'api-key', secretKeyRef: ref }] } } },
  });

  it('writes the plain secret text into otel headers', async () => {
    const resolved = await resolveConfigurationSecrets(configuration({ name: 'otel', key: 'key' }), reader({ 'ns-a/otel': { key: b64('abc') } }));
    expect(resolved.spec?.tracing?.otel?.headers?.[0]?.value).toBe('abc');
  });

  it('requires a key and fails when it is missing from the Secret', async () => {
    await expect(resolveConfigurationSecrets(configuration({ name: 'otel' }), reader({}))).rejects.toThrow(/secret key is required/);
    await expect(resolveConfigurationSecrets(configuration({ name: 'otel', key: 'k' }), reader({ 'ns-a/otel': {} }))).rejects.toThrow(
      /key "k" not found in Secret "otel"/,
    );
  });
});
