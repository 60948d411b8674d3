// Running the built binaries (injector, sentry) as child processes for the integration tests.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@tapr/lib/testing';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const injectorMain = path.join(root, 'injector', 'dist', 'src', 'main.js');
export const sentryMain = path.join(root, 'sentry', 'dist', 'src', 'main.js');

export interface ServiceProcess {
  child: ChildProcess;
  output(): string;
  /** SIGTERM (once), then the exit code. */
  stop(): Promise<number | null>;
}

export function startProcess(main: string, args: string[], env: NodeJS.ProcessEnv): ServiceProcess {
  const child = spawn(process.execPath, [main, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => output,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Waits until GET http://127.0.0.1:<port>/healthz answers 200; fails early (with its output) if the process exits. */
export async function waitHealthy(service: ServiceProcess, port: number, what: string): Promise<void> {
  await waitFor(
    async () => {
      if (service.child.exitCode !== null) throw new Error(`${what} exited with ${service.child.exitCode}:\n${service.output()}`);
      return (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200;
    },
    { what: `${what} to be healthy`, timeoutMs: 45_000 },
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n--- ${what} output ---\n${service.output()}`);
  });
}
