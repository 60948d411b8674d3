// Self-hosted sentry, started the way Dapr's integration framework starts it (single-dash flags, a credentials
// directory, a config file): files generated once, bring-your-own files, the insecure validator, Dapr's error
// codes, exit codes.
import * as grpc from '@grpc/grpc-js';
import { execFile, spawnSync } from 'node:child_process';
import net from 'node:net';
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { protos } from '@tapr/lib';
import { waitFor } from '@tapr/lib/testing';
import { createCsr } from '@tapr/lib/security/sentryClient';
import { leafPem, refusal, sentryMain, signCertificate, startSentry, stopAllSentries } from './harness.js';
import { generateIssuer, generateRoot } from '../src/ca/generate.js';
import { opensslCsr } from '../src/testing/csr.js';
import { removeTempDirs, tempDir } from '../src/testing/tempDirs.js';

const Validator = protos.sentry.SignCertificateRequest.TokenValidator;
afterAll(removeTempDirs);

describe('sentry in self-hosted mode', () => {
  afterAll(() => stopAllSentries());

  describe('when the credentials directory is empty', () => {
    const dir = tempDir('sentry-creds-');
    const configFile = path.join(tempDir('sentry-config-'), 'sentry-config.yaml');
    let sentry: Awaited<ReturnType<typeof startSentry>>;
    let root: string;
    const target = () => ({ trustAnchorsPem: root, trustDomain: 'localhost', namespace: 'default' });

    beforeAll(async () => {
      writeFileSync(configFile, '');
      sentry = await startSentry({ args: ['-log-level=info', `-issuer-credentials=${dir}`, '-issuer-ca-filename=ca.crt', '-issuer-certificate-filename=issuer.crt', '-issuer-key-filename=issuer.key', `-config=${configFile}`] });
      root = readFileSync(path.join(dir, 'ca.crt'), 'utf8');
    });

    it('writes a root, issuer, issuer key and root key, each 0600', () => {
      for (const file of ['ca.crt', 'issuer.crt', 'issuer.key', 'ca.key']) expect(statSync(path.join(dir, file)).mode & 0o777).toBe(0o600);
      expect(new X509Certificate(readFileSync(path.join(dir, 'issuer.crt'))).verify(new X509Certificate(root).publicKey)).toBe(true);
    });

    it('issues with the insecure validator by default and when named', async () => {
      for (const validator of [undefined, Validator.INSECURE]) {
        const response = await signCertificate(sentry.grpcPort, target(), { id: 'myapp', namespace: 'default', csr: (await createCsr()).csrPem, validator });
        const leaf = new X509Certificate(leafPem(response));
        expect(leaf.subjectAltName).toBe('URI:spiffe://public/ns/default/myapp');
        expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
      }
    });

    it('uses a trust domain the request names (control-plane services do)', async () => {
      const response = await signCertificate(sentry.grpcPort, target(), { id: 'dapr-placement', namespace: 'default', trustDomain: 'localhost', csr: opensslCsr('rsa').pem });
      expect(new X509Certificate(leafPem(response)).subjectAltName).toBe('URI:spiffe://localhost/ns/default/dapr-placement');
    });

    it.each([
      ['an invalid validator', { validator: -1 }, grpc.status.INVALID_ARGUMENT, 'not enabled'],
      ['the KUBERNETES validator', { validator: Validator.KUBERNETES }, grpc.status.INVALID_ARGUMENT, 'the requested validator is not enabled'],
      ['a missing CSR', { csr: '' }, grpc.status.PERMISSION_DENIED, 'CSR is required'],
      ['a missing namespace', { namespace: '' }, grpc.status.PERMISSION_DENIED, 'namespace is required'],
      ['an id with dots', { id: 'my.app' }, grpc.status.PERMISSION_DENIED, 'parameter app-id cannot contain dots'],
      ['a private key instead of a CSR', { csr: '-----BEGIN PRIVATE KEY-----\nMC4CAQBLAHBLAH\n-----END PRIVATE KEY-----' }, grpc.status.INVALID_ARGUMENT, 'invalid certificate signing request'],
    ])('refuses %s with the code Dapr uses', async (_name, overrides, code, message) => {
      const error = await refusal(signCertificate(sentry.grpcPort, target(), { id: 'myapp', namespace: 'default', csr: opensslCsr('ec').pem, ...overrides }));
      expect(error.code).toBe(code);
      expect(error.details).toContain(message);
    });

    it('keeps the same bundle across a restart', async () => {
      const issuerBefore = readFileSync(path.join(dir, 'issuer.crt'), 'utf8');
      expect(await sentry.stop()).toBe(0);
      sentry = await startSentry({ args: [`-issuer-credentials=${dir}`, `-config=${configFile}`] });
      expect(readFileSync(path.join(dir, 'issuer.crt'), 'utf8')).toBe(issuerBefore);
      const response = await signCertificate(sentry.grpcPort, target(), { id: 'myapp', namespace: 'default', csr: (await createCsr()).csrPem });
      expect(Buffer.from(response.getWorkloadCertificate_asU8()).toString().endsWith(issuerBefore)).toBe(true);
    });

    it('exports the issuer expiry as a bare line, as Dapr\'s tests parse it', async () => {
      const line = (await sentry.metrics()).split('\n').find((l) => l.startsWith('dapr_sentry_issuercert_expiry_timestamp '));
      expect(line?.split(' ')).toHaveLength(2);
      expect(Math.abs(Number(line?.split(' ')[1]) - (Date.now() / 1000 + 365 * 86400))).toBeLessThan(120);
    });
  });

  describe('when the directory holds a user bundle (with the root appended to the issuer file)', () => {
    it('signs with it, sends the issuer without the root, and reads the workload TTL from the config file', async () => {
      const dir = tempDir('sentry-byo-');
      const now = new Date();
      const userRoot = await generateRoot({ trustDomain: 'example.org', now, ttlMs: 30 * 86_400_000, skewMs: 0 });
      const userIssuer = await generateIssuer({ trustDomain: 'example.org', namespace: 'default', now, ttlMs: 30 * 86_400_000, skewMs: 0, root: userRoot });
      writeFileSync(path.join(dir, 'ca.crt'), userRoot.certPem);
      writeFileSync(path.join(dir, 'issuer.crt'), userIssuer.certPem + userRoot.certPem);
      writeFileSync(path.join(dir, 'issuer.key'), userIssuer.keyPem);
      const configFile = path.join(dir, 'config.yaml');
      writeFileSync(configFile, 'kind: Configuration\nspec:\n  mtls:\n    workloadCertTTL: ${TTL}\n    allowedClockSkew: 0s\n');
      const sentry = await startSentry({ args: [`-issuer-credentials=${dir}`, `-config=${configFile}`, '-trust-domain=example.org'], env: { TTL: '2h' } });
      const response = await signCertificate(
        sentry.grpcPort,
        { trustAnchorsPem: userRoot.certPem, trustDomain: 'example.org', namespace: 'default' },
        { id: 'myapp', namespace: 'default', csr: (await createCsr()).csrPem },
      );
      const leaf = new X509Certificate(leafPem(response));
      expect(new Date(leaf.validTo).getTime() - new Date(leaf.validFrom).getTime()).toBe(2 * 3_600_000);
      expect(Buffer.from(response.getWorkloadCertificate_asU8()).toString()).toBe(leafPem(response) + userIssuer.certPem);
      expect(() => statSync(path.join(dir, 'ca.key'))).toThrow();
      expect(await sentry.stop()).toBe(0);
    });
  });

  describe('when the directory holds only part of a bundle', () => {
    it('refuses to sign, generates nothing over it, and still stops cleanly', async () => {
      const dir = tempDir('sentry-partial-');
      writeFileSync(path.join(dir, 'ca.crt'), 'not a certificate');
      const sentry = await startSentry({ args: [`-issuer-credentials=${dir}`, '-config='], waitHealthy: false });
      await waitFor(() => sentry.output().includes('refusing to sign'), { what: 'sentry to refuse' });
      expect(await sentry.healthz()).toBe(503);
      expect(sentry.output()).toContain('is incomplete (missing issuer.crt, issuer.key); refusing to generate a new one over it');
      expect(() => statSync(path.join(dir, 'issuer.key'))).toThrow();
      expect(await sentry.stop()).toBe(0);
    });
  });

  describe('when the config file lists the jwks validator', () => {
    it('issues to a JWT signed by a key of the set, and no longer accepts insecure requests', async () => {
      const { SignJWT, exportJWK, generateKeyPair } = await import('jose');
      const { publicKey, privateKey } = await generateKeyPair('RS256');
      const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256' }] });
      const dir = tempDir('sentry-jwks-');
      const configFile = path.join(dir, 'config.yaml');
      writeFileSync(configFile, `kind: Configuration\nspec:\n  mtls:\n    tokenValidators:\n      - name: jwks\n        options:\n          source: '${jwks}'\n`);
      const sentry = await startSentry({ args: [`-issuer-credentials=${dir}`, `-config=${configFile}`] });
      const target = { trustAnchorsPem: readFileSync(path.join(dir, 'ca.crt'), 'utf8'), trustDomain: 'localhost', namespace: 'default' };
      const jwt = await new SignJWT({})
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setSubject('spiffe://public/ns/default/myapp')
        .setAudience('spiffe://localhost/ns/default/dapr-sentry')
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(privateKey);
      const response = await signCertificate(sentry.grpcPort, target, { id: 'myapp', namespace: 'default', csr: (await createCsr()).csrPem, token: jwt, validator: Validator.JWKS });
      expect(new X509Certificate(leafPem(response)).subjectAltName).toBe('URI:spiffe://public/ns/default/myapp');
      const other = await refusal(signCertificate(sentry.grpcPort, target, { id: 'payments', namespace: 'default', csr: (await createCsr()).csrPem, token: jwt, validator: Validator.JWKS }));
      expect(other.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(other.details).toContain('"sub"');
      const insecure = await refusal(signCertificate(sentry.grpcPort, target, { id: 'myapp', namespace: 'default', csr: (await createCsr()).csrPem, validator: Validator.INSECURE }));
      expect(insecure.details).toBe('the requested validator is not enabled');
      const unnamed = await refusal(signCertificate(sentry.grpcPort, target, { id: 'myapp', namespace: 'default', csr: (await createCsr()).csrPem }));
      expect(unnamed.details).toBe('a validator name must be specified in this environment');
      expect(await sentry.stop()).toBe(0);
    });
  });

  describe('when started with bad flags', () => {
    const run = (args: string[]) => spawnSync(process.execPath, [sentryMain, ...args], { encoding: 'utf8', timeout: 20_000 });

    it('exits 2 on an unknown flag, 0 on --help, 1 on an invalid value or an unsupported feature', () => {
      expect(run(['--no-such-flag']).status).toBe(2);
      const help = run(['--help']);
      expect(help.status).toBe(0);
      expect(help.stdout).toContain('--issuer-credentials');
      const mode = run(['--mode', 'cloud']);
      expect(mode.status).toBe(1);
      expect(mode.stderr).toContain('--mode: "cloud" is not one of kubernetes, standalone');
      expect(run(['--jwt-enabled']).status).toBe(1);
    });

    it('exits 1, naming the address, when the gRPC port is taken', async () => {
      const blocker = net.createServer();
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      const port = (blocker.address() as net.AddressInfo).port;
      try {
        const result = await new Promise<{ status: number | null; stdout: string }>((resolve) => {
          execFile(process.execPath, [sentryMain, `--port=${port}`, '--listen-address=127.0.0.1', `--issuer-credentials=${tempDir('sentry-busy-')}`, '--config=', '--healthz-port=0', '--enable-metrics=false'], { timeout: 20_000 }, (error, stdout) =>
            resolve({ status: error ? ((error as { code?: number }).code ?? null) : 0, stdout }),
          );
        });
        expect(result.status).toBe(1);
        expect(result.stdout).toContain(`cannot listen on 127.0.0.1:${port}`);
      } finally {
        blocker.close();
      }
    });

    it('exits 1 when the config file is missing', () => {
      const result = run(['--config=/nonexistent/sentry.yaml', `--issuer-credentials=${tempDir('sentry-x-')}`, '--port=0', '--healthz-port=0', '--metrics-port=0']);
      expect(result.status).toBe(1);
      expect(result.stdout).toContain("couldn't find config name");
      expect(result.stdout).toContain("open '/nonexistent/sentry.yaml'");
    });
  });
});
