#!/usr/bin/env node
// tapr operator: a drop-in for Dapr's `operator` binary. Reads its options, starts health and metrics, loads the
// control plane Configuration, gets its SVID from sentry, then runs the operator's parts until SIGTERM/SIGINT.
import { existsSync } from 'node:fs';
// Lib's modules one by one, not its index, so the operator loads only what it uses (docs: bench/memory).
import { HealthServer, Readiness } from '@tapr/lib/health';
import { createLogger } from '@tapr/lib/logger';
import { createMetricsRegistry, MetricsServer } from '@tapr/lib/metrics';
import { part, readOptionsOrExit, runParts, runService, type Part } from '@tapr/lib/runner';
import { controlPlaneSvidSource } from '@tapr/lib/security/sentryClient';
import { TrustAnchorsFile } from '@tapr/lib/security/trustAnchors';
import { loadControlPlaneConfig } from './controlPlaneConfig.js';
import { KubeHttp, loadClusterAccess } from '@tapr/lib/kube';
import { createOperatorMetrics } from './metrics.js';
import { Operator } from './operator.js';
import { readOptions } from './options.js';

const options = readOptionsOrExit(() => readOptions({ argv: process.argv.slice(2), env: process.env, fileExists: existsSync }));
const logger = createLogger({ scope: 'dapr.operator', level: options.logLevel, json: options.logAsJson, file: options.logFile || undefined });

await runService(async (signal) => {
  logger.info('starting tapr operator', { namespace: options.namespace, pid: process.pid });
  if (options.watchdog.enabled) {
    logger.warn('--watch-interval is set, but tapr has no sidecar watchdog: pods without a daprd container are not restarted');
  }

  const readiness = new Readiness();
  const registry = createMetricsRegistry();
  const metrics = createOperatorMetrics(registry);
  const outer: Part[] = [part('healthz', new HealthServer({ port: options.healthzPort, host: options.healthzListenAddress || undefined, readiness, logger }))];
  if (options.metricsEnabled) {
    outer.push(part('metrics', new MetricsServer({ port: options.metricsPort, host: options.metricsListenAddress || undefined, registry, logger })));
  }

  const access = loadClusterAccess({ kubeconfigFlag: options.kubeconfig, env: options.env });
  const http = new KubeHttp(access, { userAgent: 'tapr-operator' });
  logger.info('using the Kubernetes API', { server: http.server, from: access.source });

  const controlPlane = await loadControlPlaneConfig(http, options.namespace, options.configName, logger);
  const anchors = await TrustAnchorsFile.open({ file: options.trustAnchorsFile, logger: logger.child('trust-anchors'), signal });
  const svid = controlPlaneSvidSource({
    service: 'operator',
    sentryAddress: controlPlane.sentryAddress,
    trustAnchors: () => anchors.current(),
    trustDomain: controlPlane.trustDomain,
    namespace: options.namespace,
    tokenFile: options.sentryTokenFile,
    validator: 'KUBERNETES',
    localIdentity: options.sentryLocalIdentity,
    logger: logger.child('security'),
  });

  const operator = new Operator(options, {
    http,
    svid,
    logger,
    readiness,
    metrics,
    trustAnchors: anchors,
    identity: options.podName,
  });
  try {
    await runParts([...outer, part('trust-anchors', anchors), part('sentry', svid), ...operator.parts()], signal, logger);
  } finally {
    http.close();
  }
}, { logger });
