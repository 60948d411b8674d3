// The dapr.io CRDs in crds/ on the real API server: Dapr's manifests (the seed, examples shaped like Dapr's docs)
// are accepted and read back as written; malformed ones are rejected with a message that names the field.
// Fixtures: lib/test/fixtures/crds/{valid,invalid}/*.yaml, one object each, no namespace (applied with -n).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { createTestNamespace, deleteTestNamespace, kubectl, type KubectlResult } from '@tapr/lib/testing';

const crdsDir = fileURLToPath(new URL('../../crds/', import.meta.url));
const fixturesDir = fileURLToPath(new URL('./fixtures/crds/', import.meta.url));
const seedFile = path.join(fixturesDir, 'seed-statestore.yaml');

const crdNames = ['components', 'configurations', 'subscriptions', 'resiliencies', 'httpendpoints'].map((p) => `${p}.dapr.io`);

interface DaprObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: Record<string, unknown>;
  auth?: Record<string, unknown>;
  scopes?: unknown;
}

function fixture(relative: string): { text: string; object: DaprObject } {
  const text = readFileSync(path.join(fixturesDir, relative), 'utf8');
  return { text, object: yaml.load(text) as DaprObject };
}

/** The parts of a result a failing assertion should show. */
function outcome(result: KubectlResult): { code: number; stderr: string } {
  return { code: result.code, stderr: result.stderr.trim() };
}

async function readBack(text: string, namespace: string): Promise<DaprObject> {
  const result = await kubectl(['get', '-n', namespace, '-f', '-', '-o', 'json'], { input: text });
  expect(outcome(result)).toEqual({ code: 0, stderr: '' });
  // `get -f` answers with a List even for one object.
  const list = JSON.parse(result.stdout) as { kind: string; items?: DaprObject[] };
  if (list.kind !== 'List') return list as unknown as DaprObject;
  expect(list.items).toHaveLength(1);
  return list.items![0]!;
}

/** The global setup installs crds/; this covers runs before it does (apply is idempotent). */
async function ensureCrdsInstalled(): Promise<void> {
  const present = await kubectl(['get', 'crd', ...crdNames, '-o', 'name']);
  if (present.code === 0) return;
  const applied = await kubectl(['apply', '--server-side', '--force-conflicts', '-f', crdsDir]);
  if (applied.code !== 0) throw new Error(`installing ${crdsDir} failed: ${applied.stderr}`);
  const established = await kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', ...crdNames]);
  if (established.code !== 0) throw new Error(`the dapr.io CRDs did not become Established: ${established.stderr}`);
}

describe('the dapr.io CRDs', () => {
  let namespace: string;

  beforeAll(async () => {
    await ensureCrdsInstalled();
    namespace = await createTestNamespace('crds');
  });
  afterAll(async () => {
    await deleteTestNamespace(namespace);
  });

  describe('when looked up by name', () => {
    const kinds = [
      { crd: 'components.dapr.io', kind: 'Component', listKind: 'ComponentList', singular: 'component', versions: ['v1alpha1'] },
      { crd: 'configurations.dapr.io', kind: 'Configuration', listKind: 'ConfigurationList', singular: 'configuration', versions: ['v1alpha1'] },
      { crd: 'subscriptions.dapr.io', kind: 'Subscription', listKind: 'SubscriptionList', singular: 'subscription', versions: ['v1alpha1', 'v2alpha1'] },
      { crd: 'resiliencies.dapr.io', kind: 'Resiliency', listKind: 'ResiliencyList', singular: 'resiliency', versions: ['v1alpha1'] },
      { crd: 'httpendpoints.dapr.io', kind: 'HTTPEndpoint', listKind: 'HTTPEndpointList', singular: 'httpendpoint', versions: ['v1alpha1'] },
    ];

    it.each(kinds)('serves $kind as $crd with Dapr’s names, namespaced, without short names or categories', async (expected) => {
      const result = await kubectl(['get', 'crd', expected.crd, '-o', 'json']);
      expect(outcome(result)).toEqual({ code: 0, stderr: '' });
      const crd = JSON.parse(result.stdout) as {
        spec: { group: string; scope: string; names: Record<string, unknown>; versions: Array<{ name: string; served: boolean }> };
      };
      expect(crd.spec.group).toBe('dapr.io');
      expect(crd.spec.scope).toBe('Namespaced');
      expect(crd.spec.names).toEqual({
        kind: expected.kind,
        listKind: expected.listKind,
        plural: expected.crd.replace('.dapr.io', ''),
        singular: expected.singular,
      });
      expect(crd.spec.versions.map((v) => [v.name, v.served])).toEqual(expected.versions.map((v) => [v, true]));
    });
  });

  describe('when given the seed manifest', () => {
    const seed = fixture('seed-statestore.yaml');

    it('accepts it unchanged in its own namespace (default) and shows it back with kubectl get component', async () => {
      const before = await kubectl(['get', 'component', 'statestore', '-n', 'default', '-o', 'name']);
      const createdHere = before.code !== 0;
      try {
        const applied = await kubectl(['apply', '-f', seedFile]);
        expect(outcome(applied)).toEqual({ code: 0, stderr: '' });

        const table = await kubectl(['get', 'component', 'statestore', '-n', 'default']);
        expect(outcome(table)).toEqual({ code: 0, stderr: '' });
        const [header, row] = table.stdout.trim().split('\n');
        expect(header).toMatch(/^NAME\s+TYPE\s+VERSION\s+AGE$/);
        expect(row).toMatch(/^statestore\s+state\.redis\s+\d+\w+$/);

        const asYaml = await kubectl(['get', 'component', 'statestore', '-n', 'default', '-o', 'yaml']);
        expect(outcome(asYaml)).toEqual({ code: 0, stderr: '' });
        const stored = yaml.load(asYaml.stdout) as DaprObject;
        expect(stored.apiVersion).toBe('dapr.io/v1alpha1');
        expect(stored.metadata).toMatchObject({ name: 'statestore', namespace: 'default' });
        expect(stored.spec).toEqual(seed.object.spec);
      } finally {
        // Leave default as we found it: only remove the Component if this test created it.
        if (createdHere) await kubectl(['delete', 'component', 'statestore', '-n', 'default', '--ignore-not-found']);
      }
    });

    it('accepts it in a test namespace when metadata.namespace is overridden', async () => {
      const moved = { ...seed.object, metadata: { ...seed.object.metadata, namespace } };
      const applied = await kubectl(['apply', '-f', '-'], { input: yaml.dump(moved) });
      expect(outcome(applied)).toEqual({ code: 0, stderr: '' });

      const asYaml = await kubectl(['get', 'component', 'statestore', '-n', namespace, '-o', 'yaml']);
      expect(outcome(asYaml)).toEqual({ code: 0, stderr: '' });
      const stored = yaml.load(asYaml.stdout) as DaprObject;
      expect(stored.metadata).toMatchObject({ name: 'statestore', namespace });
      expect(stored.spec).toEqual({ type: 'state.redis', metadata: [{ name: 'redisHost', value: 'redis-leader.default' }] });
    });
  });

  describe('when given valid Dapr manifests', () => {
    const accepted = [
      { name: 'accepts a Redis state store whose password comes from a Kubernetes secret', file: 'component-redis-statestore-secret.yaml' },
      { name: 'accepts a Kafka pub/sub with numbers, booleans, templates, an envRef and scopes', file: 'component-kafka-pubsub.yaml' },
      { name: 'accepts a cron input binding limited to one app', file: 'component-cron-binding-scoped.yaml' },
      { name: 'keeps object and list metadata values as written', file: 'component-structured-values.yaml' },
      { name: 'accepts a secret store with an empty metadata list', file: 'component-kubernetes-secretstore-empty-metadata.yaml' },
      { name: 'accepts a component without spec.metadata, as Dapr’s docs write settings-free ones', file: 'component-inmemory-without-metadata.yaml' },
      { name: 'accepts an app Configuration that uses every sidecar section', file: 'configuration-app-full.yaml' },
      { name: 'accepts the daprsystem Configuration with a JWKS token validator', file: 'configuration-daprsystem.yaml' },
      { name: 'accepts mTLS settings without sentryAddress and controlPlaneTrustDomain', file: 'configuration-mtls-docs-form.yaml' },
      { name: 'accepts the legacy metric spelling and name resolution without a version', file: 'configuration-legacy-metric-and-nameresolution.yaml' },
      { name: 'accepts a v2alpha1 Subscription with CEL rules, a default route, dead letters and bulk delivery', file: 'subscription-v2alpha1-routes.yaml' },
      { name: 'accepts a v2alpha1 Subscription with only a default route', file: 'subscription-v2alpha1-default-only.yaml' },
      { name: 'accepts a v2alpha1 routing rule without match', file: 'subscription-v2alpha1-rule-without-match.yaml' },
      { name: 'accepts a Resiliency with timeouts, retries, circuit breakers and every target type', file: 'resiliency-full.yaml' },
      { name: 'accepts a Resiliency with a single timeout policy', file: 'resiliency-timeouts-only.yaml' },
      { name: 'accepts an HTTPEndpoint with secret and environment headers and client TLS', file: 'httpendpoint-full.yaml' },
      { name: 'accepts an HTTPEndpoint with only a base URL', file: 'httpendpoint-minimal.yaml' },
    ];

    it.each(accepted)('$name', async ({ file }) => {
      const { text, object } = fixture(`valid/${file}`);
      const applied = await kubectl(['apply', '-n', namespace, '-f', '-'], { input: text });
      expect(outcome(applied)).toEqual({ code: 0, stderr: '' });

      const stored = await readBack(text, namespace);
      expect(stored.apiVersion).toBe(object.apiVersion);
      expect(stored.spec).toMatchObject(object.spec ?? {});
      expect(stored.auth).toEqual(object.auth);
      expect(stored.scopes).toEqual(object.scopes);
    });

    it('shows type and version columns for components', async () => {
      const { text } = fixture('valid/component-redis-statestore-secret.yaml');
      expect(outcome(await kubectl(['apply', '-n', namespace, '-f', '-'], { input: text }))).toEqual({ code: 0, stderr: '' });
      const table = await kubectl(['get', 'component', 'orders-state', '-n', namespace]);
      expect(table.stdout.trim().split('\n')[1]).toMatch(/^orders-state\s+state\.redis\s+v1\s+\d+\w+$/);
    });

    it('fills in metrics enabled for a Configuration with an empty spec, as Dapr’s CRD does', async () => {
      const { text } = fixture('valid/configuration-empty-spec.yaml');
      expect(outcome(await kubectl(['apply', '-n', namespace, '-f', '-'], { input: text }))).toEqual({ code: 0, stderr: '' });
      const stored = await readBack(text, namespace);
      expect(stored.spec).toEqual({ metric: { enabled: true }, metrics: { enabled: true } });
    });

    it('fills in clientTLS renegotiation Never for an HTTPEndpoint that leaves it out', async () => {
      const { text } = fixture('valid/httpendpoint-full.yaml');
      expect(outcome(await kubectl(['apply', '-n', namespace, '-f', '-'], { input: text }))).toEqual({ code: 0, stderr: '' });
      const stored = await readBack(text, namespace);
      expect(stored.spec).toMatchObject({ clientTLS: { renegotiation: 'Never' } });
    });
  });

  describe('when given malformed manifests', () => {
    const rejected = [
      { name: 'rejects a Component without spec.type', file: 'component-without-type.yaml', messages: ['spec.type: Required value'] },
      { name: 'rejects a Component without spec', file: 'component-without-spec.yaml', messages: ['spec: Required value'] },
      {
        name: 'rejects a metadata item without a name',
        file: 'component-metadata-item-without-name.yaml',
        messages: ['spec.metadata[1].name: Required value'],
      },
      {
        name: 'rejects spec.metadata given as a string',
        file: 'component-metadata-not-a-list.yaml',
        messages: ['spec.metadata: Invalid value: "string": spec.metadata in body must be of type array'],
      },
      {
        name: 'rejects scopes given as a number',
        file: 'component-scopes-not-a-list.yaml',
        messages: ['scopes: Invalid value: "integer": scopes in body must be of type array'],
      },
      {
        name: 'rejects a secretKeyRef without a secret name',
        file: 'component-secretkeyref-without-name.yaml',
        messages: ['spec.metadata[0].secretKeyRef.name: Required value'],
      },
      { name: 'rejects auth without secretStore', file: 'component-auth-without-secretstore.yaml', messages: ['auth.secretStore: Required value'] },
      {
        name: 'rejects a numeric type and version and a string ignoreErrors, naming each field',
        file: 'component-wrong-scalar-types.yaml',
        messages: [
          'spec.type in body must be of type string',
          'spec.version in body must be of type string',
          'spec.ignoreErrors in body must be of type boolean',
        ],
      },
      { name: 'rejects a misspelled field under kubectl’s strict validation', file: 'component-misspelled-field.yaml', messages: ['unknown field "spec.metdata"'] },
      {
        name: 'rejects a feature flag without enabled',
        file: 'configuration-feature-without-enabled.yaml',
        messages: ['spec.features[0].enabled: Required value'],
      },
      {
        name: 'rejects an unquoted samplingRate',
        file: 'configuration-unquoted-sampling-rate.yaml',
        messages: ['spec.tracing.samplingRate in body must be of type string'],
      },
      {
        name: 'rejects a token validator other than jwks',
        file: 'configuration-unknown-token-validator.yaml',
        messages: ['spec.mtls.tokenValidators[0].name: Unsupported value: "oidc"'],
      },
      {
        name: 'rejects an access-control policy without appId',
        file: 'configuration-policy-without-appid.yaml',
        messages: ['spec.accessControl.policies[0].appId: Required value'],
      },
      { name: 'rejects a v2alpha1 Subscription without routes', file: 'subscription-v2alpha1-without-routes.yaml', messages: ['spec.routes: Required value'] },
      {
        name: 'rejects a v2alpha1 routing rule without a path',
        file: 'subscription-v2alpha1-rule-without-path.yaml',
        messages: ['spec.routes.rules[0].path: Required value'],
      },
      {
        name: 'rejects a numeric Subscription metadata value (daprd reads them as strings)',
        file: 'subscription-v2alpha1-numeric-metadata.yaml',
        messages: ['spec.metadata.maxPriority in body must be of type string'],
      },
      {
        name: 'rejects a v1alpha1 Subscription without route before any conversion',
        file: 'subscription-v1alpha1-without-route.yaml',
        messages: ['spec.route: Required value'],
      },
      {
        name: 'rejects retries maxRetries "abc"',
        file: 'resiliency-max-retries-not-a-number.yaml',
        messages: ['spec.policies.retries.important.maxRetries: Invalid value: "string"', 'must be of type integer'],
      },
      { name: 'rejects a Resiliency without targets', file: 'resiliency-without-targets.yaml', messages: ['spec.targets: Required value'] },
      {
        name: 'rejects a timeout given as a number',
        file: 'resiliency-timeout-not-a-string.yaml',
        messages: ['spec.policies.timeouts.general in body must be of type string'],
      },
      { name: 'rejects an HTTPEndpoint without baseUrl', file: 'httpendpoint-without-baseurl.yaml', messages: ['spec.baseUrl: Required value'] },
      {
        name: 'rejects an unknown TLS renegotiation mode',
        file: 'httpendpoint-unknown-renegotiation.yaml',
        messages: ['spec.clientTLS.renegotiation: Unsupported value: "Sometimes"'],
      },
      { name: 'rejects a header without a name', file: 'httpendpoint-header-without-name.yaml', messages: ['spec.headers[0].name: Required value'] },
    ];

    it.each(rejected)('$name', async ({ file, messages }) => {
      const { text } = fixture(`invalid/${file}`);
      const applied = await kubectl(['apply', '-n', namespace, '-f', '-'], { input: text });
      expect(applied.code).not.toBe(0);
      for (const message of messages) expect(applied.stderr).toContain(message);

      const lookup = await kubectl(['get', '-n', namespace, '-f', '-', '-o', 'name'], { input: text });
      expect(lookup.stderr).toContain('NotFound');
    });
  });

  // Subscriptions are stored as v2alpha1; v1alpha1 goes through the operator's conversion webhook (Service
  // dapr-webhook), which these tests do not run. When an integration setup starts the operator, these change to
  // round-trip checks.
  describe('when Subscriptions are used without the operator’s conversion webhook', () => {
    it('points the conversion webhook at Service dapr-webhook, path /convert, and stores v2alpha1', async () => {
      const result = await kubectl(['get', 'crd', 'subscriptions.dapr.io', '-o', 'json']);
      const crd = JSON.parse(result.stdout) as {
        spec: {
          conversion: { strategy: string; webhook: { clientConfig: { service: Record<string, unknown> }; conversionReviewVersions: string[] } };
          versions: Array<{ name: string; served: boolean; storage: boolean }>;
        };
      };
      expect(crd.spec.conversion.strategy).toBe('Webhook');
      expect(crd.spec.conversion.webhook.clientConfig.service).toMatchObject({ name: 'dapr-webhook', path: '/convert', port: 443 });
      expect(crd.spec.conversion.webhook.conversionReviewVersions).toContain('v1');
      expect(crd.spec.versions.map((v) => [v.name, v.served, v.storage])).toEqual([
        ['v1alpha1', true, false],
        ['v2alpha1', true, true],
      ]);
    });

    it('lists Subscriptions as v2alpha1, the preferred version', async () => {
      const { text } = fixture('valid/subscription-v2alpha1-default-only.yaml');
      expect(outcome(await kubectl(['apply', '-n', namespace, '-f', '-'], { input: text }))).toEqual({ code: 0, stderr: '' });
      const list = await kubectl(['get', 'subscriptions', '-n', namespace, '-o', 'json']);
      expect(outcome(list)).toEqual({ code: 0, stderr: '' });
      const items = (JSON.parse(list.stdout) as { items: DaprObject[] }).items;
      expect(items.map((i) => i.metadata.name)).toContain('audit');
      expect(new Set(items.map((i) => i.apiVersion))).toEqual(new Set(['dapr.io/v2alpha1']));
    });

    it('validates a v1alpha1 Subscription and then stops at the conversion webhook', async () => {
      const { text } = fixture('valid/subscription-v1alpha1-route.yaml');
      const applied = await kubectl(['apply', '-n', namespace, '-f', '-'], { input: text });
      expect(applied.code).not.toBe(0);
      expect(applied.stderr).toMatch(/conversion webhook for dapr\.io\/v1alpha1, Kind=Subscription failed/);
      expect(applied.stderr).toContain('dapr-webhook');
      expect(applied.stderr).not.toContain('is invalid');
    });

    it('cannot read stored Subscriptions through v1alpha1', async () => {
      const { text } = fixture('valid/subscription-v2alpha1-default-only.yaml');
      expect(outcome(await kubectl(['apply', '-n', namespace, '-f', '-'], { input: text }))).toEqual({ code: 0, stderr: '' });
      const asV1 = await kubectl(['get', 'subscriptions.v1alpha1.dapr.io', 'audit', '-n', namespace, '-o', 'json']);
      expect(asV1.code).not.toBe(0);
      expect(asV1.stderr).toMatch(/conversion webhook for dapr\.io\/v2alpha1, Kind=Subscription failed.*dapr-webhook/);
    });
  });
});
