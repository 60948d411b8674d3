// Every daprd argument tapr's injector can write is one the stock daprd (Dapr 1.17, built by
// lib/testing/build-binaries.sh) accepts: the injected args, with every annotation that adds or changes an argument
// set, are parsed by the real binary (`--version` makes it exit right after parsing). An unknown flag or a value of
// the wrong type makes daprd exit 2 — in a cluster, a sidecar that crash-loops.
import { spawnSync } from 'node:child_process';
import { ensureBinaries } from '@tapr/lib/testing';
import { annotationTable, readSidecarSettings } from '../src/annotations.js';
import type { ContainerJson, PodJson } from '../src/kubeTypes.js';
import { injectSidecar } from '../src/podMutation.js';
import { SidecarTemplate } from '../src/sidecarContainer.js';
import { testEnvironment } from '../src/testdata/environment.js';

// A value for each annotation that reaches daprd's command line.
const argumentAnnotations: Record<string, string> = {
  'dapr.io/app-id': 'orders',
  'dapr.io/app-port': '8080',
  'dapr.io/config': 'tracing',
  'dapr.io/app-protocol': 'grpc',
  'dapr.io/app-ssl': 'true',
  'dapr.io/enable-profiling': 'true',
  'dapr.io/log-level': 'debug',
  'dapr.io/log-as-json': 'true',
  'dapr.io/app-max-concurrency': '10',
  'dapr.io/metrics-port': '9191',
  'dapr.io/grpc-port': '50011',
  'dapr.io/internal-grpc-port': '50012',
  'dapr.io/sidecar-listen-addresses': '0.0.0.0',
  'dapr.io/http-max-request-size': '16',
  'dapr.io/max-body-size': '16Mi',
  'dapr.io/http-read-buffer-size': '8',
  'dapr.io/read-buffer-size': '8Ki',
  'dapr.io/graceful-shutdown-seconds': '30',
  'dapr.io/block-shutdown-duration': '1m30s',
  'dapr.io/enable-api-logging': 'true',
  'dapr.io/unix-domain-socket-path': '/tmp/sockets',
  'dapr.io/disable-builtin-k8s-secret-store': 'true',
  'dapr.io/enable-app-health-check': 'true',
  'dapr.io/app-health-check-path': '/ready',
  'dapr.io/app-health-probe-interval': '9',
  'dapr.io/app-health-probe-timeout': '900',
  'dapr.io/app-health-threshold': '7',
  'dapr.io/placement-host-address': 'placement:50005',
  'dapr.io/scheduler-host-address': 'scheduler-0:50006,scheduler-1:50006',
  'dapr.io/app-channel-address': '127.0.0.2',
  'dapr.io/sentry-request-jwt-audiences': 'a,b',
  'dapr.io/disable-init-endpoints': 'config',
};

// Annotations that change the pod or daprd's env, resources, probes or image, but not its arguments (or, for the
// debug pair, replace the entry point with dlv, which the stock image does not carry).
const notArguments = new Set([
  'dapr.io/enable-metrics', // only removes --enable-metrics (checked by the defaults run)
  'dapr.io/api-token-secret',
  'dapr.io/app-token-secret',
  'dapr.io/enable-debug',
  'dapr.io/debug-port',
  'dapr.io/env',
  'dapr.io/env-from-secret',
  'dapr.io/sidecar-cpu-request',
  'dapr.io/sidecar-cpu-limit',
  'dapr.io/sidecar-memory-request',
  'dapr.io/sidecar-memory-limit',
  'dapr.io/sidecar-liveness-probe-delay-seconds',
  'dapr.io/sidecar-liveness-probe-timeout-seconds',
  'dapr.io/sidecar-liveness-probe-period-seconds',
  'dapr.io/sidecar-liveness-probe-threshold',
  'dapr.io/sidecar-readiness-probe-delay-seconds',
  'dapr.io/sidecar-readiness-probe-timeout-seconds',
  'dapr.io/sidecar-readiness-probe-period-seconds',
  'dapr.io/sidecar-readiness-probe-threshold',
  'dapr.io/sidecar-image',
  'dapr.io/sidecar-seccomp-profile-type',
  'dapr.io/volume-mounts',
  'dapr.io/volume-mounts-rw',
  'dapr.io/pluggable-components',
  'dapr.io/pluggable-components-sockets-folder',
  'dapr.io/inject-pluggable-components',
]);

function injectedArgs(annotations: Record<string, string>): string[] {
  const pod: PodJson = {
    metadata: { name: 'web-1', annotations: { 'dapr.io/enabled': 'true', ...annotations } },
    spec: { containers: [{ name: 'app', image: 'app:1' }] },
  };
  const { settings, problems } = readSidecarSettings(pod.metadata!.annotations);
  expect(problems).toEqual([]);
  const mutated = injectSidecar(new SidecarTemplate(testEnvironment), { pod, settings, appId: settings.appId ?? 'web-1', namespace: 'shop', trustAnchorsPem: 'PEM', mtlsEnabled: true });
  const daprd = mutated.spec!.containers!.find((c: ContainerJson) => c.name === 'daprd')!;
  const args = daprd['args'] as string[];
  expect(args[0]).toBe('/daprd');
  return args.slice(1);
}

/** daprd's verdict on `args`: exit code and output of `daprd <args> --version`. */
function parse(args: string[]): { status: number | null; output: string } {
  const result = spawnSync(ensureBinaries('daprd').daprd, [...args, '--version'], { encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}`.split('\n').slice(0, 3).join('\n') };
}

describe('the injector’s daprd arguments, parsed by the stock daprd', () => {
  it('covers every annotation the injector reads (a new one must be added to one of the two lists)', () => {
    const known = Object.values(annotationTable).map((spec) => (spec as { key: string }).key);
    const unlisted = known.filter((key) => !(key in argumentAnnotations) && !notArguments.has(key));
    expect(unlisted).toEqual([]);
  });

  it('accepts the defaults', () => {
    expect(parse(injectedArgs({}))).toEqual({ status: 0, output: expect.stringMatching(/^1\.17\.\d+/) });
    expect(parse(injectedArgs({ 'dapr.io/enable-metrics': 'false', 'dapr.io/placement-host-address': '', 'dapr.io/scheduler-host-address': '' }))).toEqual({
      status: 0,
      output: expect.stringMatching(/^1\.17\.\d+/),
    });
  });

  it('accepts the arguments of every annotation at once', () => {
    const args = injectedArgs(argumentAnnotations);
    expect(args).toContain('--scheduler-host-address');
    expect(parse(args)).toEqual({ status: 0, output: expect.stringMatching(/^1\.17\.\d+/) });
  });

  it.each(Object.entries(argumentAnnotations))('accepts the arguments of %s alone', (key, value) => {
    expect(parse(injectedArgs({ [key]: value }))).toEqual({ status: 0, output: expect.stringMatching(/^1\.17\.\d+/) });
  });

  it('refuses a flag Dapr 1.17 does not have (so the checks above can fail)', () => {
    expect(parse([...injectedArgs({}), '--app-binding-options-timeout', '2s'])).toEqual({ status: 2, output: expect.stringContaining('unknown flag: --app-binding-options-timeout') });
  });
});
