// Sentry's settings from the `daprsystem` Configuration (spec §2.4, §2.8): the workload certificate TTL, the
// allowed clock skew and the token validators (Kubernetes: always KUBERNETES, plus JWKS if listed; self-hosted:
// INSECURE unless validators are listed). Kubernetes mode reads the Configuration resource in sentry's
// namespace; self-hosted mode reads a YAML file (${VAR} expanded). A missing resource or file stops sentry, as
// in Dapr. `spec.mtls.controlPlaneTrustDomain` is ignored: --trust-domain always wins.
import yaml from 'js-yaml';
import { readFile } from 'node:fs/promises';
import { parseGoDuration } from '@tapr/lib/duration';
import type { KubeHttp } from '@tapr/lib/kube';
import type { TokenValidatorName } from './validators/validator.js';
import { parseJwksOptions, type JwksOptions } from './validators/jwksOptions.js';

export const defaultWorkloadCertTtlMs = 24 * 3_600_000;
export const defaultAllowedClockSkewMs = 15 * 60_000;

export interface SentryConfig {
  workloadCertTtlMs: number;
  allowedClockSkewMs: number;
  /** The validators that may be requested. */
  validators: TokenValidatorName[];
  /** The validator for requests that name none. */
  defaultValidator?: TokenValidatorName;
  /** Options of the JWKS validator, when `spec.mtls.tokenValidators` lists it. */
  jwks?: JwksOptions;
}

interface MtlsSpec {
  workloadCertTTL?: unknown;
  allowedClockSkew?: unknown;
  tokenValidators?: Array<{ name?: unknown; options?: unknown }>;
}

/** Interprets a Configuration's `spec` for the given mode; throws naming the bad field. */
export function parseConfigurationSpec(spec: unknown, kubernetes: boolean): SentryConfig {
  const mtls = ((spec as { mtls?: MtlsSpec } | null | undefined)?.mtls ?? {}) as MtlsSpec;
  const duration = (value: unknown, field: string, fallback: number) => {
    if (value === undefined || value === null || value === '') return fallback;
    if (typeof value !== 'string') throw new Error(`spec.mtls.${field} must be a duration string such as "24h"`);
    let ms: number;
    try {
      ms = parseGoDuration(value);
    } catch (error) {
      throw new Error(`error parsing ${field} duration: ${(error as Error).message}`, { cause: error });
    }
    if (ms <= 0 && field === 'workloadCertTTL') throw new Error('spec.mtls.workloadCertTTL must be positive');
    return ms;
  };
  const config: SentryConfig = {
    workloadCertTtlMs: duration(mtls.workloadCertTTL, 'workloadCertTTL', defaultWorkloadCertTtlMs),
    allowedClockSkewMs: duration(mtls.allowedClockSkew, 'allowedClockSkew', defaultAllowedClockSkewMs),
    validators: [],
  };
  if (kubernetes) {
    config.validators.push('KUBERNETES');
    config.defaultValidator = 'KUBERNETES';
  }
  const configured = mtls.tokenValidators ?? [];
  for (const validator of configured) {
    const name = typeof validator?.name === 'string' ? validator.name.toUpperCase() : '';
    if (name === 'KUBERNETES' || name === 'INSECURE') {
      throw new Error("invalid token validator: the built-in 'kubernetes' and 'insecure' validators cannot be configured manually");
    }
    if (name !== 'JWKS') throw new Error(`invalid token validator name: '${String(validator?.name)}'; supported values: 'jwks'`);
    config.jwks = parseJwksOptions(validator.options);
    if (!config.validators.includes('JWKS')) config.validators.push('JWKS');
  }
  if (!kubernetes && configured.length === 0) {
    config.validators.push('INSECURE');
    config.defaultValidator = 'INSECURE';
  }
  return config;
}

/** Kubernetes mode: the Configuration resource `name` in `namespace`. */
export async function loadKubernetesConfig(http: KubeHttp, namespace: string, name: string): Promise<SentryConfig> {
  let object: { spec?: unknown } | undefined;
  try {
    object = await http.getIfExists(`/apis/dapr.io/v1alpha1/namespaces/${encodeURIComponent(namespace)}/configurations/${encodeURIComponent(name)}`);
  } catch (error) {
    throw new Error(`cannot read Configuration ${namespace}/${name}: ${(error as Error).message}`, { cause: error });
  }
  if (!object) {
    throw new Error(`loading default config. couldn't find config name "${name}": Configuration ${namespace}/${name} not found (or the dapr.io CRDs are not installed)`);
  }
  return withContext(() => parseConfigurationSpec(object.spec, true), `Configuration ${namespace}/${name}`);
}

/** Self-hosted mode: a YAML file (`kind: Configuration`), or defaults when no file is named. */
export async function loadFileConfig(file: string, env: NodeJS.ProcessEnv): Promise<SentryConfig> {
  if (file === '') return parseConfigurationSpec({}, false);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(`loading default config. couldn't find config name "${file}": ${(error as Error).message}`, { cause: error });
  }
  const expanded = text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_m, a: string | undefined, b: string | undefined) => env[(a ?? b) as string] ?? '');
  let document: unknown;
  try {
    document = yaml.load(expanded);
  } catch (error) {
    throw new Error(`config file ${file} is not valid YAML: ${(error as Error).message}`, { cause: error });
  }
  return withContext(() => parseConfigurationSpec((document as { spec?: unknown } | null)?.spec, false), `config file ${file}`);
}

function withContext<T>(fn: () => T, where: string): T {
  try {
    return fn();
  } catch (error) {
    throw new Error(`${where}: ${(error as Error).message}`, { cause: error });
  }
}
