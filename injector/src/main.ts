#!/usr/bin/env node
// tapr's sidecar injector: a drop-in for Dapr's `injector` binary. Parts: the trust anchors (file, watched), the
// serving certificate (sentry SVID or self-managed CA), the allowed controller accounts, the mTLS setting, the
// HTTPS admission webhook, the caBundle patcher, and the health and metrics servers.
import {
  createLogger,
  createMetricsRegistry,
  HealthServer,
  MetricsServer,
  part,
  Readiness,
  readOptionsOrExit,
  runParts,
  runService,
  TrustAnchorsFile,
  type Logger,
  type Part,
} from '@tapr/lib';
import { KubeHttp, loadClusterAccess } from '@tapr/lib/kube';
import { Admission } from './admission.js';
import { CaBundlePatcher } from './caBundlePatcher.js';
import { CallerAuthorisation, ServiceAccountMatcher } from './callerAuthorisation.js';
import { ControllerAccounts } from './controllerAccounts.js';
import { HttpKubeAccess } from './kubeAccess.js';
import { InjectorMetrics } from './metrics.js';
import { MtlsSetting } from './mtlsSetting.js';
import { readOptions, type InjectorOptions } from './options.js';
import { componentContainerLookup } from './pluggableComponents.js';
import { SelfManagedCertificates } from './selfManagedCertificate.js';
import { sentryServingCertificates } from './sentryCertificate.js';
import { SidecarTemplate } from './sidecarContainer.js';
import { WebhookServer } from './webhookServer.js';

async function main(options: InjectorOptions, logger: Logger, signal: AbortSignal): Promise<void> {
  logger.info('starting the tapr sidecar injector', { namespace: options.namespace, certSource: options.certSource, sidecarImage: options.sidecar.image });
  const readiness = new Readiness();
  const registry = createMetricsRegistry();
  const metrics = new InjectorMetrics(registry);

  const trustAnchors = await TrustAnchorsFile.open({ file: options.trustAnchorsFile, logger: logger.child('trustanchors'), signal });
  const access = loadClusterAccess({
    kubeconfigFlag: options.kubeconfigGiven ? options.kubeconfig : '',
    env: process.env,
    preferInCluster: true,
  });
  const http = new KubeHttp(access, { userAgent: 'tapr-injector' });
  logger.info('Kubernetes API', { server: http.server, from: access.source });
  const kube = new HttpKubeAccess(http);

  const parts: Part[] = [part('trust anchors', trustAnchors)];
  let certificates;
  if (options.certSource === 'sentry') {
    const sentry = sentryServingCertificates(options, trustAnchors, logger.child('security'));
    certificates = sentry.certificates;
    parts.push(part('sentry SVID', sentry.svids));
  } else {
    const selfManaged = new SelfManagedCertificates({
      kube,
      namespace: options.namespace,
      secretName: options.selfManagedCaSecret,
      dnsNames: options.servingDnsNames,
      ipAddresses: options.servingIpAddresses,
      logger: logger.child('certificate'),
    });
    certificates = selfManaged;
    parts.push(part('self-managed certificate', selfManaged));
  }

  const authorisation = new CallerAuthorisation(new ServiceAccountMatcher(options.allowedServiceAccountsPrefixNames));
  const mtls = new MtlsSetting({ kube, namespace: options.namespace, logger: logger.child('config') });
  const admission = new Admission({
    template: new SidecarTemplate(options.sidecar),
    authorisation,
    trustAnchors: () => trustAnchors.current(),
    mtlsEnabled: () => mtls.enabled,
    componentContainers: componentContainerLookup(kube, logger.child('components')),
  });

  parts.push(
    part('controller accounts', new ControllerAccounts({
      accounts: options.allowedServiceAccounts,
      kube,
      authorisation,
      readiness: readiness.target('allowed-service-accounts'),
      logger: logger.child('authorisation'),
    })),
    part('mtls setting', mtls),
    part('webhook server', new WebhookServer({
      port: options.port,
      host: options.listenAddress || undefined,
      certificates,
      admission,
      metrics,
      readiness: readiness.target('injector-service'),
      logger: logger.child('service'),
    })),
    part('caBundle patcher', new CaBundlePatcher({
      kube,
      configurationName: options.webhookConfigurationName,
      certificates,
      readiness: readiness.target('webhook-configuration'),
      logger: logger.child('webhookconfig'),
    })),
    part('health server', new HealthServer({ port: options.healthzPort, host: options.healthzListenAddress || undefined, readiness, logger })),
  );
  if (options.enableMetrics) {
    parts.push(part('metrics server', new MetricsServer({ port: options.metricsPort, host: options.metricsListenAddress, registry, logger })));
  }
  signal.addEventListener('abort', () => readiness.drain(), { once: true });
  try {
    await runParts(parts, signal, logger);
  } finally {
    http.close();
  }
}

const options = readOptionsOrExit(() => readOptions({ argv: process.argv.slice(2), env: process.env }));
const logger = createLogger({ scope: 'dapr.injector', level: options.logLevel, json: options.logAsJson, file: options.logFile || undefined });
await runService((signal) => main(options, logger, signal), { logger });
