// Installs the repository's dapr.io CRDs (crds/*.yaml) into a cluster and waits until the API server serves them.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { binaryPaths, testingAssetsDir } from './binaries.js';

export const crdsDir = path.resolve(testingAssetsDir, '..', '..', 'crds');

export function installCrds(kubeconfig: string, dir = crdsDir): string[] {
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.yaml')) : [];
  if (files.length === 0) return [];
  const kubectl = (args: string[]) => {
    const result = spawnSync(binaryPaths().kubectl, args, { env: { ...process.env, KUBECONFIG: kubeconfig }, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr || result.stdout}`);
    return result.stdout;
  };
  kubectl(['apply', '--server-side', '--force-conflicts', '-f', dir]);
  kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...files.map((f) => `-f=${path.join(dir, f)}`)]);
  return files;
}
