// `make demo` runs e2e/demo/demo.ts; this runs the same script (with --exit, in namespaces of its own) against the
// test cluster, so the walkthrough cannot rot: each step has to show what the seed's reader is promised.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { kubectl } from '@tapr/lib/testing';
import { repoRoot } from '../src/helm.js';

const describeLocal = (process.env['TAPR_E2E_TARGET'] ?? 'local') === 'local' ? describe : describe.skip;

function runDemo(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const tsx = path.join(repoRoot, 'node_modules', '.bin', 'tsx');
    const child = spawn(tsx, ['--tsconfig', 'e2e/tsconfig.json', 'e2e/demo/demo.ts', ...args], { cwd: repoRoot, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

describeLocal('make demo (e2e/demo/demo.ts)', () => {
  it('walks through the seed: control plane, chart, CRDs, statestore, injected apps, a state round trip, the SPIFFE ID', async () => {
    const suffix = randomBytes(3).toString('hex');
    const controlPlane = `tapr-demo-system-${suffix}`;
    const apps = `tapr-demo-apps-${suffix}`;
    const { code, output } = await runDemo(['--exit', '--control-plane-namespace', controlPlane, '--app-namespace', apps]);
    expect({ code, tail: code === 0 ? '' : output.slice(-4000) }).toEqual({ code: 0, tail: '' });
    for (let step = 1; step <= 8; step++) expect(output).toContain(`[${step}/8]`);
    // tapr's five services, Running from their pods.
    for (const pod of ['dapr-operator-', 'dapr-placement-server-0', 'dapr-sentry-', 'dapr-sidecar-injector-', 'dapr-scheduler-server-0', 'dapr-scheduler-server-1', 'dapr-scheduler-server-2']) {
      expect(output).toMatch(new RegExp(`${pod}\\S*\\s+1/1\\s+Running`));
    }
    expect(output).toMatch(/components\.dapr\.io/);
    expect(output).toMatch(/statestore\s+state\.redis/);
    // Both demo pods run two containers: the app and the injected daprd.
    expect(output).toMatch(/demo-backend-\S+\s+2\/2\s+Running/);
    expect(output).toMatch(/demo-frontend-\S+\s+2\/2\s+Running/);
    expect(output).toMatch(/containers of demo-frontend-\S+: app \(node:20-alpine\) daprd \(\S+daprd:\S+\)/);
    expect(output).toMatch(/GET {2}\S+\/v1\.0\/state\/statestore\/greeting → 200 \{"text":"hello from the demo"\} \(ETag \d+\)/);
    expect(output).toContain(`in Redis: demo-frontend||greeting`);
    expect(output).toMatch(/"callStatus":200,"reply":\{"greeting":"hello from backend","youSaid":"visit \d+","caller":"demo-frontend"\}/);
    expect(output).toContain(`SPIFFE ID  spiffe://public/ns/${apps}/demo-frontend`);
    expect(output).toContain('chains to the trust anchors in ConfigMap dapr-trust-bundle: true');
    expect(output).toContain('make cluster-down stops it');
    // --exit cleans up what it made: the namespaces are on their way out.
    const left = await kubectl(['get', 'namespace', apps, '-o', 'jsonpath={.status.phase}']);
    expect(left.code === 0 ? left.stdout : 'gone').toMatch(/Terminating|gone/);
  }, 240_000);
});
