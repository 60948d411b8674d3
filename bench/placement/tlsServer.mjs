// The placement service with mTLS for bench.mjs (TLS=1): the built service (placement/dist) run in this process,
// as main.js runs it, except that its SVID comes from a test trust bundle instead of sentry. Writes the files the
// simulated sidecars need into $TLS_DIR: ca.pem, a client certificate for `spiffe://public/ns/<BENCH_NAMESPACE>/bench`
// (the app and namespace the bench hosts report), the server name to send and the SPIFFE ID to expect.
// Arguments: placement's flags (--tls-enabled is added).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { PlacementService } from '../../placement/dist/src/app.js';
import { readOptions } from '../../placement/dist/src/options.js';
import { createLogger } from '../../lib/dist/src/logger.js';
import { runService } from '../../lib/dist/src/runner.js';
import { StaticSvidSource } from '../../lib/dist/src/security/svid.js';
import { controlPlaneId, formatSpiffeId } from '../../lib/dist/src/security/spiffe.js';
import { createTestTrustBundle, issueTestSvid } from '../../lib/dist/src/testing/svid.js';

const dir = process.env.TLS_DIR;
if (!dir) throw new Error('TLS_DIR must name a directory for the certificates');
const options = readOptions({ argv: [...process.argv.slice(2), '--tls-enabled'], env: process.env });
const serverId = controlPlaneId('placement', 'cluster.local', options.namespace);
const bundle = await createTestTrustBundle('cluster.local');
const server = await issueTestSvid(bundle, serverId);
const client = await issueTestSvid(bundle, { trustDomain: 'public', namespace: process.env.BENCH_NAMESPACE ?? 'bench', appId: 'bench' });
writeFileSync(path.join(dir, 'ca.pem'), bundle.rootPem);
writeFileSync(path.join(dir, 'client.pem'), client.certChainPem);
writeFileSync(path.join(dir, 'client.key'), client.keyPem);
writeFileSync(path.join(dir, 'servername'), `dapr-placement.${options.namespace}.svc`);
writeFileSync(path.join(dir, 'server-id'), formatSpiffeId(serverId));

const logger = createLogger({ scope: 'dapr.placement', level: options.logLevel });
await runService((signal) => new PlacementService(options, { logger, svid: { source: new StaticSvidSource(server), parts: [] } }).run(signal), { logger });
