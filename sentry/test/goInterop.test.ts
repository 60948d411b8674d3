// What daprd would see: a CSR made exactly as daprd makes it (Go's crypto/x509, empty template) is accepted; the
// certificate sentry returns parses strictly in Go, chains to the trust anchors for server and client use, loads
// as a key pair with crypto/tls; and sentry's own TLS certificate passes the SPIFFE-ID check daprd applies.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { leafPem, signCertificate, startSentry, stopAllSentries } from './harness.js';
import { tempDir } from '../src/testing/tempDirs.js';

const program = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'gointerop.go');

function go(args: string[]): { status: number | null; output: string } {
  const result = spawnSync('go', ['run', program, ...args], { encoding: 'utf8', timeout: 180_000, env: { ...process.env, GOTOOLCHAIN: 'local' } });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('sentry and Go (daprd\'s crypto)', () => {
  afterAll(() => stopAllSentries());

  it('accepts a Go-made CSR and returns a chain Go verifies, served by a sentry Go accepts', async () => {
    const dir = tempDir('sentry-go-');
    const credentials = tempDir('sentry-go-creds-');
    const csr = go(['csr', dir]);
    expect(csr).toEqual({ status: 0, output: 'ok\n' });

    const sentry = await startSentry({ args: [`-issuer-credentials=${credentials}`, '-config=', '-trust-domain=integration.test.dapr.io'], env: { NAMESPACE: 'sentrynamespace' } });
    const anchors = readFileSync(path.join(credentials, 'ca.crt'), 'utf8');
    const response = await signCertificate(
      sentry.grpcPort,
      { trustAnchorsPem: anchors, trustDomain: 'integration.test.dapr.io', namespace: 'sentrynamespace' },
      { id: 'myapp', namespace: 'default', csr: readFileSync(path.join(dir, 'csr.pem')) },
    );
    expect(leafPem(response)).toContain('BEGIN CERTIFICATE');
    writeFileSync(path.join(dir, 'chain.pem'), Buffer.from(response.getWorkloadCertificate_asU8()));
    writeFileSync(path.join(dir, 'anchors.pem'), Buffer.from(response.getTrustChainCertificatesList_asU8()[0] as Uint8Array));

    const verified = go(['verify', dir, 'spiffe://public/ns/default/myapp', `127.0.0.1:${sentry.grpcPort}`, 'spiffe://integration.test.dapr.io/ns/sentrynamespace/dapr-sentry']);
    expect(verified).toEqual({ status: 0, output: 'ok\n' });

    // The check has teeth: the wrong expected identity fails.
    const wrong = go(['verify', dir, 'spiffe://public/ns/default/other', `127.0.0.1:${sentry.grpcPort}`, 'spiffe://integration.test.dapr.io/ns/sentrynamespace/dapr-sentry']);
    expect(wrong.status).toBe(1);
    expect(wrong.output).toContain('leaf URIs [spiffe://public/ns/default/myapp], want [spiffe://public/ns/default/other]');
  }, 240_000);
});
