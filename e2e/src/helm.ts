// Running the pinned Helm (lib/testing/versions.env, built from its Go module) on the tapr chart, and reading what it
// renders as plain objects.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
// The default import: the js-yaml that resolves from e2e/ may be the CommonJS 3.x one, whose named exports Node's ESM loader cannot see.
import yaml from 'js-yaml';
import { binaryPaths, ensureBinaries } from '@tapr/lib/testing';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const chartDir = path.join(repoRoot, 'charts', 'tapr');

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs helm; never throws on an exit code. */
export function helm(args: string[], options: { kubeconfig?: string; input?: string } = {}): Promise<CommandResult> {
  const binary = ensureBinaries('helm').helm;
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, {
      env: {
        ...process.env,
        ...(options.kubeconfig ? { KUBECONFIG: options.kubeconfig } : {}),
        // Keep Helm's caches and config out of the user's home.
        HELM_CACHE_HOME: path.join(repoRoot, '.tapr', 'helm', 'cache'),
        HELM_CONFIG_HOME: path.join(repoRoot, '.tapr', 'helm', 'config'),
        HELM_DATA_HOME: path.join(repoRoot, '.tapr', 'helm', 'data'),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr: withoutSymlinkNotice(stderr) }));
    child.stdin.end(options.input ?? '');
  });
}

/**
 * Helm's chart loader prints one notice per command because charts/tapr/crds links to the repository's crds/
 * (docs/install.md explains the link); everything else on stderr is kept.
 */
function withoutSymlinkNotice(stderr: string): string {
  return stderr
    .split('\n')
    .filter((line) => !/found symbolic link in path: .*crds resolves to .*crds\. Contents of linked file included and used/.test(line))
    .join('\n');
}

export interface RenderOptions {
  namespace: string;
  releaseName?: string;
  /** --set-json style values, merged into a values file. */
  values?: Record<string, unknown>;
  includeCrds?: boolean;
  chart?: string;
}

/** `helm template` → the rendered YAML; throws with helm's message when rendering fails. */
export async function renderChartYaml(options: RenderOptions): Promise<string> {
  const args = ['template', options.releaseName ?? 'tapr', options.chart ?? chartDir, '--namespace', options.namespace, '--values', '-'];
  if (options.includeCrds) args.push('--include-crds');
  const result = await helm(args, { input: JSON.stringify(options.values ?? {}) });
  if (result.code !== 0) throw new Error(`helm template failed (exit ${result.code}): ${result.stderr.trim()}`);
  return result.stdout;
}

/** `helm template` → the rendered objects, in Helm's order. */
export async function renderChart(options: RenderOptions): Promise<KubeObject[]> {
  return parseManifests(await renderChartYaml(options));
}

export function parseManifests(text: string): KubeObject[] {
  return (yaml.loadAll(text) as unknown[]).filter((doc): doc is KubeObject => typeof doc === 'object' && doc !== null && 'kind' in doc);
}

export function helmPath(): string {
  return binaryPaths().helm;
}
