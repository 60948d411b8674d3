// The control plane's own Configuration (`--config`, normally `daprsystem`, in the operator's namespace): where
// sentry is and which trust domain the control plane uses (spec §4.4, §11.4). Dapr's operator cannot start
// without it; neither can this one.
import type { Logger } from '@tapr/lib/logger';
import { isNotFound, resourcePath, type KubeHttp } from '@tapr/lib/kube';
import { configurationKind, type Configuration } from './resources/kinds.js';

export interface ControlPlaneConfig {
  sentryAddress: string;
  trustDomain: string;
  mtlsEnabled: boolean;
}

/** Used when the Configuration leaves the field empty (Dapr would fail later; we say what we use instead). */
export const defaultControlPlaneTrustDomain = 'localhost';

export async function loadControlPlaneConfig(http: KubeHttp, namespace: string, name: string, logger: Logger): Promise<ControlPlaneConfig> {
  let configuration: Configuration;
  try {
    configuration = await http.request<Configuration>('GET', resourcePath(configurationKind.type, namespace, name));
  } catch (error) {
    const reason = isNotFound(error) ? `Configuration "${name}" does not exist in namespace "${namespace}"` : (error as Error).message;
    throw new Error(`unable to load configuration, config: ${name}: ${reason}`, { cause: error });
  }
  const mtls = (configuration.spec?.['mtls'] ?? {}) as { sentryAddress?: string; controlPlaneTrustDomain?: string; enabled?: boolean };
  let sentryAddress = mtls.sentryAddress ?? '';
  let trustDomain = mtls.controlPlaneTrustDomain ?? '';
  if (!sentryAddress) {
    sentryAddress = `dapr-sentry.${namespace}.svc:443`;
    logger.warn('the control plane Configuration has no spec.mtls.sentryAddress; using the default', { configuration: name, sentryAddress });
  }
  if (!trustDomain) {
    trustDomain = defaultControlPlaneTrustDomain;
    logger.warn('the control plane Configuration has no spec.mtls.controlPlaneTrustDomain; using the default', { configuration: name, trustDomain });
  }
  return { sentryAddress, trustDomain, mtlsEnabled: mtls.enabled === true };
}
