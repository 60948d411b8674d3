// The flags every Dapr binary has (spec §11.2) and `--kubeconfig`, specified and checked once for every service's
// options.ts: spread `commonFlagSpecs` into the service's specs, then `readCommonOptions(values)`.
import { homedir } from 'node:os';
import path from 'node:path';
import type { FlagSpec, FlagSpecs, FlagValues } from './flags.js';
import { isLogLevel, type LogLevel } from './logger.js';

export const defaultHealthzPort = 8080;
export const defaultMetricsPort = '9090';

export const commonFlagSpecs = {
  'log-level': { type: 'string', default: 'info', help: 'Options are debug, info, warn, error, or fatal' },
  'log-as-json': { type: 'bool', default: false, help: 'print log as JSON (default false)' },
  'log-file': { type: 'string', default: '', help: 'append logs to this file instead of stdout' },
  'enable-metrics': { type: 'bool', default: true, help: 'Enable prometheus metric' },
  // A string, as in Dapr: a non-numeric value fails at start, not as a usage error.
  'metrics-port': { type: 'string', default: defaultMetricsPort, help: 'The port for the metrics server' },
  'metrics-listen-address': { type: 'string', default: '0.0.0.0', help: 'The address for the metrics server' },
  'healthz-port': { type: 'int', default: defaultHealthzPort, help: 'The port for the healthz server to listen on' },
  'healthz-listen-address': { type: 'string', default: '', help: 'The listening address for the healthz server' },
} as const satisfies FlagSpecs;

export type CommonFlagValues = FlagValues<typeof commonFlagSpecs>;

export interface CommonOptions {
  logLevel: LogLevel;
  logAsJson: boolean;
  logFile: string;
  enableMetrics: boolean;
  metricsPort: number;
  metricsListenAddress: string;
  healthzPort: number;
  healthzListenAddress: string;
}

/** The common flags, checked: an unknown log level or a bad port throws an Error naming the flag (exit 1). */
export function readCommonOptions(values: CommonFlagValues): CommonOptions {
  const logLevel = values['log-level'];
  if (!isLogLevel(logLevel)) throw new Error(`--log-level: "${logLevel}" is not one of debug, info, warn, error, fatal`);
  return {
    logLevel,
    logAsJson: values['log-as-json'],
    logFile: values['log-file'],
    enableMetrics: values['enable-metrics'],
    metricsPort: parsePort(values['metrics-port'], '--metrics-port'),
    metricsListenAddress: values['metrics-listen-address'],
    healthzPort: checkPort(values['healthz-port'], '--healthz-port'),
    healthzListenAddress: values['healthz-listen-address'],
  };
}

/** A port given as text (0–65535, digits only). */
export function parsePort(text: string, flag: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) > 65535) throw new Error(`${flag}: "${text}" is not a port number`);
  return Number(text);
}

/** A port given as an int flag (0–65535). */
export function checkPort(value: number, flag: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw new Error(`${flag}: ${value} is not a port number`);
  return value;
}

/**
 * `--kubeconfig`. Sentry and the injector take client-go's default, `$HOME/.kube/config` ("" without a home);
 * the operator's comes from controller-runtime and is empty. Whether it was given on the command line matters
 * (in-cluster first for sentry and the injector): read that from parseFlags' `set`.
 */
export function kubeconfigFlagSpec(style: 'home' | 'empty', env: NodeJS.ProcessEnv = {}): FlagSpec & { type: 'string' } {
  if (style === 'empty') return { type: 'string', default: '', help: 'Paths to a kubeconfig. Only required if out-of-cluster.' };
  const home = env['HOME'] ?? homedir();
  return { type: 'string', default: home ? path.join(home, '.kube', 'config') : '', help: '(optional) absolute path to the kubeconfig file' };
}

export const sentryTokenFiles = {
  projected: '/var/run/secrets/dapr.io/sentrytoken/token',
  legacy: '/var/run/secrets/kubernetes.io/serviceaccount/token',
} as const;

/** Dapr's order for a control-plane service's sentry token: DAPR_SENTRY_TOKEN_FILE, then (Kubernetes mode) the projected sentry token, then the SA token. */
export function sentryTokenFile(env: NodeJS.ProcessEnv, mode: string, fileExists: (file: string) => boolean): string | undefined {
  if (env['DAPR_SENTRY_TOKEN_FILE']) return env['DAPR_SENTRY_TOKEN_FILE'];
  if (mode !== 'kubernetes') return undefined;
  return [sentryTokenFiles.projected, sentryTokenFiles.legacy].find((file) => fileExists(file));
}
