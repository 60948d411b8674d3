// `helm upgrade` upgrades the CRDs: on a cluster of its own (so the shared cluster's CRDs stay as they are), the
// chart is installed with Helm, then upgraded to a copy whose Component CRD has one more field. Helm runs the
// pre-upgrade Job; the test plays the kubelet for its pod (the real pod spec, its ConfigMap and a token bound to the
// pod for its own service account) and reports the exit code; Helm then finishes the upgrade.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { startLocalCluster, stopLocalCluster, waitFor, kubectl, type ClusterInfo } from '@tapr/lib/testing';
import { chartDir, helm } from '../src/helm.js';
import { LocalKubelet } from '../src/localKubelet.js';

const namespace = 'tapr-upgrade';
const marker = 'upgradeMarker';

const componentWithMarker = (name: string) => `
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: ${name}, namespace: default}
spec:
  type: state.in-memory
  version: v1
  metadata: []
  ${marker}: added-in-the-new-chart
`;

describe('helm upgrade of the tapr chart', () => {
  let cluster: ClusterInfo;
  let kubelet: LocalKubelet;
  let work: string;
  const on = (args: string[], input?: string) => kubectl(args, { kubeconfig: cluster.kubeconfig, input });

  beforeAll(async () => {
    cluster = await startLocalCluster({ watchPid: process.pid });
    work = mkdtempSync(path.join(tmpdir(), 'tapr-crd-upgrade-'));
    const config = new KubeConfig();
    config.loadFromFile(cluster.kubeconfig);
    kubelet = new LocalKubelet({ kubeConfig: config, workDir: path.join(work, 'kubelet') });
  }, 180_000);

  afterAll(async () => {
    await kubelet?.stopAll();
    if (cluster) await stopLocalCluster(cluster);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('installs the CRDs from crds/ on a cluster that has none', async () => {
    expect((await on(['get', 'crd', '-o', 'name'])).stdout.trim()).toBe('');
    const install = await helm(['install', 'tapr', chartDir, '--namespace', namespace, '--create-namespace'], { kubeconfig: cluster.kubeconfig });
    expect(install.stderr.trim()).toBe('');
    expect(install.code).toBe(0);
    const crds = (await on(['get', 'crd', '-o', 'name'])).stdout.trim().split('\n').sort();
    expect(crds).toEqual([
      'customresourcedefinition.apiextensions.k8s.io/components.dapr.io',
      'customresourcedefinition.apiextensions.k8s.io/configurations.dapr.io',
      'customresourcedefinition.apiextensions.k8s.io/httpendpoints.dapr.io',
      'customresourcedefinition.apiextensions.k8s.io/resiliencies.dapr.io',
      'customresourcedefinition.apiextensions.k8s.io/subscriptions.dapr.io',
    ]);
    expect((await on(['get', 'configuration', 'daprsystem', '-n', namespace, '-o', 'name'])).code).toBe(0);
    // The old schema does not know the field the new chart adds.
    const rejected = await on(['apply', '--validate=strict', '-f', '-'], componentWithMarker('before-upgrade'));
    expect(rejected.code).not.toBe(0);
    expect(rejected.stderr).toContain(`unknown field "spec.${marker}"`);
  });

  it('applies the new chart’s CRDs through its pre-upgrade Job before it upgrades the release', async () => {
    const newChart = path.join(work, 'tapr');
    cpSync(chartDir, newChart, { recursive: true, dereference: true });
    const crdFile = path.join(newChart, 'crds', 'components.yaml');
    const crd = readFileSync(crdFile, 'utf8');
    const anchor = '                ignoreErrors:\n';
    expect(crd).toContain(anchor);
    writeFileSync(crdFile, crd.replace(anchor, `                ${marker}:\n                  type: string\n${anchor}`));
    const chartYaml = path.join(newChart, 'Chart.yaml');
    writeFileSync(chartYaml, readFileSync(chartYaml, 'utf8').replace(/^version: .*$/m, 'version: 0.1.1'));

    const upgrade = helm(['upgrade', 'tapr', newChart, '--namespace', namespace, '--timeout', '3m'], { kubeconfig: cluster.kubeconfig });
    const pod = await kubelet.waitForPod(namespace, 'job-name=tapr-crd-upgrade');
    expect(pod.spec!.serviceAccountName).toBe('tapr-crd-upgrade');

    const server = new URL(cluster.server);
    const prepared = await kubelet.prepare(pod, 'apply-crds', {
      // `node` from the image's PATH is this node.
      executable: (command) => {
        // The image's node by its path: the distroless runtime has no node on PATH (seen on the real node).
        expect(command[0]).toBe('/nodejs/bin/node');
        return [process.execPath, ...command.slice(1)];
      },
      // What the kubelet puts in every pod's environment, and the token path compiled into the script.
      extraEnv: (mounts) => ({
        KUBERNETES_SERVICE_HOST: server.hostname,
        KUBERNETES_SERVICE_PORT: server.port,
        SERVICEACCOUNT_DIR: mounts['/var/run/secrets/kubernetes.io/serviceaccount']!,
      }),
    });
    const job = kubelet.start(prepared);
    const exitCode = await job.exited;
    // Reported either way, so that Helm ends the upgrade (failed or not) rather than waiting for its timeout.
    await kubelet.reportTerminated(pod, exitCode ?? 137);
    if (exitCode !== 0) throw new Error(`the CRD upgrade Job exited ${exitCode}:\n${job.output()}`);
    expect(job.output()).toContain('every CRD is applied and established');

    const result = await upgrade;
    expect(result.stderr.trim()).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('has been upgraded');

    // The Job and its helpers are gone (hook-succeeded); the CRD has the field and records who applied it.
    await waitFor(async () => (await on(['get', 'job,configmap,serviceaccount', '-n', namespace, '-l', 'app=tapr-crd-upgrade', '-o', 'name'])).stdout.trim() === '', {
      what: 'the hook objects to be deleted',
    });
    const live = JSON.parse((await on(['get', 'crd', 'components.dapr.io', '-o', 'json', '--show-managed-fields'])).stdout);
    const properties = live.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties;
    expect(properties[marker]).toEqual({ type: 'string' });
    expect(live.metadata.managedFields.map((f: { manager: string }) => f.manager)).toContain('tapr-crd-upgrade');
    // The conversion webhook of subscriptions points at the release namespace.
    const subscriptions = JSON.parse((await on(['get', 'crd', 'subscriptions.dapr.io', '-o', 'json'])).stdout);
    expect(subscriptions.spec.conversion.webhook.clientConfig.service).toMatchObject({ namespace, name: 'dapr-webhook', path: '/convert' });

    const history = JSON.parse((await helm(['history', 'tapr', '--namespace', namespace, '--output', 'json'], { kubeconfig: cluster.kubeconfig })).stdout);
    expect(history.map((r: { revision: number; status: string; chart: string }) => [r.revision, r.status, r.chart])).toEqual([
      [1, 'superseded', 'tapr-0.1.0'],
      [2, 'deployed', 'tapr-0.1.1'],
    ]);
  });

  it('keeps the new field in resources written after the upgrade', async () => {
    const applied = await on(['apply', '--validate=strict', '-f', '-'], componentWithMarker('after-upgrade'));
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    const component = JSON.parse((await on(['get', 'component', 'after-upgrade', '-n', 'default', '-o', 'json'])).stdout);
    expect(component.spec[marker]).toBe('added-in-the-new-chart');
  });

  it('gave the Job’s service account no CRDs but the chart’s own', async () => {
    const can = async (verb: string, resource: string) =>
      (await on(['auth', 'can-i', verb, resource, `--as=system:serviceaccount:${namespace}:tapr-crd-upgrade`])).stdout.trim();
    // The hook's RBAC is deleted with the hook; recreate it from the chart for the check.
    const rendered = await helm(['template', 'tapr', chartDir, '--namespace', namespace, '--show-only', 'templates/crd-upgrade.yaml'], { kubeconfig: cluster.kubeconfig });
    expect(rendered.code).toBe(0);
    const rbacOnly = rendered.stdout
      .split(/^---$/m)
      .filter((doc) => /^kind: (ServiceAccount|ClusterRole|ClusterRoleBinding)$/m.test(doc))
      .join('\n---\n');
    expect((await on(['apply', '-f', '-'], rbacOnly)).code).toBe(0);
    try {
      expect(await can('patch', 'customresourcedefinitions/components.dapr.io')).toBe('yes');
      expect(await can('patch', 'customresourcedefinitions/widgets.example.com')).toBe('no');
      expect(await can('delete', 'customresourcedefinitions/components.dapr.io')).toBe('no');
      expect(await can('list', 'customresourcedefinitions')).toBe('no');
      expect(await can('get', 'secrets')).toBe('no');
    } finally {
      await on(['delete', '-f', '-'], rbacOnly);
    }
  });

  it('keeps the CRDs and the resources in them on helm uninstall', async () => {
    const result = await helm(['uninstall', 'tapr', '--namespace', namespace], { kubeconfig: cluster.kubeconfig });
    expect(result.code).toBe(0);
    expect((await on(['get', 'deployment', 'dapr-sentry', '-n', namespace])).code).not.toBe(0);
    expect((await on(['get', 'crd', 'components.dapr.io', '-o', 'name'])).stdout.trim()).toBe('customresourcedefinition.apiextensions.k8s.io/components.dapr.io');
    const component = JSON.parse((await on(['get', 'component', 'after-upgrade', '-n', 'default', '-o', 'json'])).stdout);
    expect(component.spec[marker]).toBe('added-in-the-new-chart');
  });
});
