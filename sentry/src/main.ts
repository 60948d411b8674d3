#!/usr/bin/env node
// tapr sentry: the Dapr-compatible certificate authority. options → logger → health and metrics → the trust bundle
// authority → validators → signer → gRPC server with sentry's own identity; one runner starts them all and stops
// them all on SIGTERM/SIGINT (exit 0) or when one fails.
import { existsSync, watch } from 'node:fs';
import path from 'node:path';
import {
  HealthServer,
  MetricsServer,
  Readiness,
  controlPlaneId,
  createLogger,
  createMetricsRegistry,
  formatSpiffeId,
  part,
  readOptionsOrExit,
  runParts,
  runService,
  type Part,
} from '@tapr/lib';
import { KubeHttp, loadClusterAccess } from '@tapr/lib/kube';
import { readOptions, type SentryOptions } from './options.js';
import { loadFileConfig, loadKubernetesConfig, type SentryConfig } from './config.js';
import { SentryMetrics } from './metrics.js';
import { CertificateAuthority } from './ca/authority.js';
import { FileTrustBundleStore } from './ca/fileStore.js';
import { KubeTrustBundleStore, trustBundleName } from './ca/kubeStore.js';
import { taprFileNames } from './ca/bundle.js';
import type { TrustBundleStore } from './ca/store.js';
import { LogEventRecorder, SecretEventRecorder, type EventRecorder } from './events.js';
import { InsecureValidator, type TokenValidatorName, type Validator } from './validators/validator.js';
import { KubernetesValidator } from './validators/kubernetes.js';
import { KubeLookups } from './validators/kubeLookups.js';
import { InlineSigner, type Signer } from './signing/signer.js';
import { WorkerPoolSigner } from './signing/workerPoolSigner.js';
import { CertificateService } from './server/certificateService.js';
import { GrpcServer } from './server/grpcServer.js';
import { ServerIdentity } from './server/serverIdentity.js';
import { kubernetesClusterDomain } from '@tapr/lib/clusterDomain';

const options = readOptionsOrExit(() => readOptions({ argv: process.argv.slice(2), env: process.env }));
const logger = createLogger({ scope: 'tapr.sentry', level: options.logLevel, json: options.logAsJson, file: options.logFile || undefined });

await runService((signal) => runSentry(options, signal), { logger });

async function runSentry(options: SentryOptions, signal: AbortSignal): Promise<void> {
  logger.info('starting tapr sentry', { mode: options.mode, trustDomain: options.trustDomain, namespace: options.namespace, port: options.port });
  const readiness = new Readiness();
  const registry = createMetricsRegistry();
  const metrics = new SentryMetrics(registry);
  const kubernetes = options.mode === 'kubernetes';
  const access = kubernetes
    ? loadClusterAccess({ kubeconfigFlag: options.kubeconfigGiven ? options.kubeconfig : '', env: options.env, preferInCluster: true })
    : undefined;
  const http = access ? new KubeHttp(access, { userAgent: 'tapr-sentry' }) : undefined;
  if (http) logger.info('using the Kubernetes API', { server: http.server, from: access?.source });

  const config: SentryConfig = http
    ? await loadKubernetesConfig(http, options.namespace, options.config)
    : await loadFileConfig(options.config, options.env);
  logger.info('configuration loaded', {
    workloadCertTTL: `${config.workloadCertTtlMs / 1000}s`,
    allowedClockSkew: `${config.allowedClockSkewMs / 1000}s`,
    validators: config.validators.map((v) => v.toLowerCase()),
  });

  const names = {
    trustAnchors: path.basename(options.issuerFiles.trustAnchors),
    issuerChain: path.basename(options.issuerFiles.issuerChain),
    issuerKey: path.basename(options.issuerFiles.issuerKey),
  };
  const store: TrustBundleStore = http
    ? new KubeTrustBundleStore({ http, namespace: options.namespace, anchorsKey: names.trustAnchors })
    : new FileTrustBundleStore({
        files: {
          [names.trustAnchors]: options.issuerFiles.trustAnchors,
          [names.issuerChain]: options.issuerFiles.issuerChain,
          [names.issuerKey]: options.issuerFiles.issuerKey,
          ...Object.fromEntries(Object.values(taprFileNames).map((name) => [name, path.join(path.dirname(options.issuerFiles.issuerKey), name)])),
        },
        claimEntry: names.issuerKey,
      });
  const events: EventRecorder = http
    ? new SecretEventRecorder({ http, namespace: options.namespace, secretName: trustBundleName, instance: options.podName, logger: logger.child('events') })
    : new LogEventRecorder(logger.child('events'));

  const authority = new CertificateAuthority({
    store,
    names,
    trustDomain: options.trustDomain,
    namespace: options.namespace,
    policy: {
      rootTtlMs: options.rootCertTtlMs,
      issuerTtlMs: options.issuerCertTtlMs,
      allowedClockSkewMs: config.allowedClockSkewMs,
      workloadCertTtlMs: config.workloadCertTtlMs,
      pollIntervalMs: options.pollIntervalMs,
    },
    metrics,
    events,
    readiness: readiness.target('trust-bundle'),
    logger: logger.child('ca'),
  });

  const sentryId = controlPlaneId('sentry', options.trustDomain, options.namespace);
  const validators = new Map<TokenValidatorName, Validator>();
  const parts: Part[] = [];
  if (config.validators.includes('INSECURE')) validators.set('INSECURE', new InsecureValidator());
  if (config.validators.includes('KUBERNETES') && http) {
    const lookups = new KubeLookups(http, logger.child('validator.kubernetes'));
    const target = readiness.target('kubernetes-validator');
    parts.push(part('kubernetes-validator', { run: (s: AbortSignal) => lookups.run(s, target) }));
    validators.set(
      'KUBERNETES',
      new KubernetesValidator({ lookups, sentryId: formatSpiffeId(sentryId), controlPlaneNamespace: options.namespace, controlPlaneTrustDomain: options.trustDomain }),
    );
  }
  if (config.jwks) {
    // Loaded only when configured: jose is about 2 MiB of memory.
    const { JwksValidator } = await import('./validators/jwks.js');
    const jwks = new JwksValidator({ jwks: config.jwks, sentryId: formatSpiffeId(sentryId), logger: logger.child('validator.jwks'), readiness: readiness.target('jwks-validator') });
    parts.push(part('jwks-validator', jwks));
    validators.set('JWKS', jwks);
  }
  for (const name of validators.keys()) logger.info(`using validator '${name.toLowerCase()}'`);

  const signer: Signer =
    options.signingWorkers > 0 ? new WorkerPoolSigner({ size: options.signingWorkers, logger: logger.child('signer') }) : new InlineSigner();
  logger.info('signing certificates', { workers: options.signingWorkers || 'main thread' });
  const service = new CertificateService({
    authority,
    signer,
    validators,
    defaultValidator: config.defaultValidator,
    controlPlaneNamespace: options.namespace,
    clusterDomain: kubernetes ? kubernetesClusterDomain(options.trustDomain) : options.trustDomain,
    workloadCertTtlMs: config.workloadCertTtlMs,
    allowedClockSkewMs: config.allowedClockSkewMs,
    logger: logger.child('server'),
  });
  const identity = new ServerIdentity({
    authority,
    id: sentryId,
    ttlMs: config.workloadCertTtlMs,
    allowedClockSkewMs: config.allowedClockSkewMs,
    metrics,
    logger: logger.child('identity'),
  });
  const grpcServer = new GrpcServer({
    service,
    svid: identity,
    host: options.listenAddress || '0.0.0.0',
    port: options.port,
    metrics,
    readiness: readiness.target('sentry-server'),
    logger: logger.child('server'),
  });

  parts.push(
    part('health', new HealthServer({ port: options.healthzPort, host: options.healthzListenAddress || undefined, readiness, logger: logger.child('healthz') })),
    part('trust-bundle', authority),
    part('identity', identity),
    part('grpc', grpcServer),
  );
  if (options.enableMetrics) parts.push(part('metrics', new MetricsServer({ port: options.metricsPort, host: options.metricsListenAddress || undefined, registry, logger: logger.child('metrics') })));
  if (http) parts.push(part('credentials-watch', { run: (s: AbortSignal) => watchCredentials(options.issuerCredentials, () => authority.refresh(), s) }));

  try {
    await runParts(parts, signal, logger);
  } finally {
    await signer.close();
    http?.close();
  }
}

/**
 * In Kubernetes the Secret is also mounted at --issuer-credentials; a change there (the kubelet updates mounts
 * about a minute after the Secret changes) triggers an immediate re-read instead of waiting for the next poll.
 */
async function watchCredentials(dir: string, onChange: () => void, signal: AbortSignal): Promise<void> {
  if (existsSync(dir)) {
    const watcher = watch(dir, { persistent: false }, () => onChange());
    watcher.on('error', () => undefined);
    signal.addEventListener('abort', () => watcher.close(), { once: true });
  }
  await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
}
