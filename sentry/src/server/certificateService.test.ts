import * as grpc from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';
import { Readiness, Registry, silentLogger } from '@tapr/lib';
import { CertificateAuthority } from '../ca/authority.js';
import { SentryMetrics } from '../metrics.js';
import { MemoryTrustBundleStore } from '../testing/memoryStore.js';
import { peculiarCsr } from '../testing/csr.js';
import { InlineSigner } from '../signing/signer.js';
import { InsecureValidator, ValidationError, type SignRequest } from '../validators/validator.js';
import { LogEventRecorder } from '../events.js';
import { CsrError } from '../x509/csr.js';
import { CertificateService, RequestRefused, pemWithChain } from './certificateService.js';
import { encodePem } from '@tapr/lib/security/pem';
import { randomBytes } from 'node:crypto';
import { refusalFor } from './grpcServer.js';

const policy = { rootTtlMs: 3_600_000, issuerTtlMs: 3_600_000, allowedClockSkewMs: 900_000, workloadCertTtlMs: 86_400_000, pollIntervalMs: 1000 };

async function setup(defaultValidator?: 'INSECURE') {
  const authority = new CertificateAuthority({
    store: new MemoryTrustBundleStore(false),
    names: { trustAnchors: 'ca.crt', issuerChain: 'issuer.crt', issuerKey: 'issuer.key' },
    trustDomain: 'cluster.local',
    namespace: 'dapr-system',
    policy,
    metrics: new SentryMetrics(new Registry()),
    events: new LogEventRecorder(silentLogger()),
    readiness: new Readiness().target('ca'),
    logger: silentLogger(),
  });
  await authority.reconcile();
  const service = new CertificateService({
    authority,
    signer: new InlineSigner(),
    validators: new Map([['INSECURE', new InsecureValidator()]]),
    defaultValidator,
    controlPlaneNamespace: 'dapr-system',
    clusterDomain: 'cluster.local',
    workloadCertTtlMs: policy.workloadCertTtlMs,
    allowedClockSkewMs: policy.allowedClockSkewMs,
    logger: silentLogger(),
  });
  return { authority, service };
}

async function request(overrides: Partial<SignRequest> = {}): Promise<SignRequest> {
  return { id: 'orders', token: '', trustDomain: '', namespace: 'shop', csr: Buffer.from((await peculiarCsr()).pem), jwtAudiences: [], ...overrides };
}

function leafOf(pem: Buffer): X509Certificate {
  return new X509Certificate(pem.toString().slice(0, pem.toString().indexOf('-----END CERTIFICATE-----') + 25));
}

describe('CertificateService', () => {
  describe('when the request is valid', () => {
    it('returns leaf + issuer chain, the anchors as one element and NotAfter = now + TTL, with NotBefore backdated by the skew', async () => {
      const { service, authority } = await setup('INSECURE');
      const before = Date.now();
      const issued = await service.signCertificate(await request(), 'UNKNOWN');
      const leaf = leafOf(issued.workloadCertificate);
      expect(leaf.subjectAltName).toBe('URI:spiffe://public/ns/shop/orders');
      expect(issued.workloadCertificate.toString().endsWith(authority.current()?.issuerChainPem as string)).toBe(true);
      expect(issued.trustAnchors.toString()).toBe(authority.current()?.trustAnchorsPem);
      expect(issued.notAfter.getTime()).toBe(new Date(leaf.validTo).getTime());
      expect(Math.abs(issued.notAfter.getTime() - (before + policy.workloadCertTtlMs))).toBeLessThan(2000);
      expect(Math.abs(new Date(leaf.validFrom).getTime() - (before - policy.allowedClockSkewMs))).toBeLessThan(2000);
    });

    it.each([
      ['dapr-injector', ['dapr-sidecar-injector.dapr-system.svc']],
      ['dapr-operator', ['dapr-webhook.dapr-system.svc']],
      ['dapr-scheduler', [0, 1, 2].map((i) => `dapr-scheduler-server-${i}.dapr-scheduler-server.dapr-system.svc.cluster.local`)],
      ['dapr-placement', []],
    ])('adds Dapr\'s DNS names for %s in the control-plane namespace', async (id, dns) => {
      const { service } = await setup();
      const issued = await service.signCertificate(await request({ id, namespace: 'dapr-system', trustDomain: 'cluster.local' }), 'INSECURE');
      expect(leafOf(issued.workloadCertificate).subjectAltName).toBe([`URI:spiffe://cluster.local/ns/dapr-system/${id}`, ...dns.map((d) => `DNS:${d}`)].join(', '));
    });

    it('adds no DNS names for the same ids in another namespace', async () => {
      const { service } = await setup();
      const issued = await service.signCertificate(await request({ id: 'dapr-operator' }), 'INSECURE');
      expect(leafOf(issued.workloadCertificate).subjectAltName).toBe('URI:spiffe://public/ns/shop/dapr-operator');
    });
  });

  describe('when the validator is missing or unknown', () => {
    it('refuses UNKNOWN without a default, and a validator that is not enabled', async () => {
      const { service } = await setup();
      await expect(service.signCertificate(await request(), 'UNKNOWN')).rejects.toThrow('a validator name must be specified in this environment');
      await expect(service.signCertificate(await request(), 'KUBERNETES')).rejects.toThrow('the requested validator is not enabled');
      await expect(service.signCertificate(await request(), -1)).rejects.toThrow('the requested validator is not enabled');
    });
  });

  describe('when the authority refuses to sign', () => {
    it('answers not-signing with the authority\'s reason', async () => {
      const { service, authority } = await setup('INSECURE');
      (authority as unknown as { current: () => undefined }).current = () => undefined;
      (authority as unknown as { problem: () => string }).problem = () => 'the trust bundle is invalid';
      await expect(service.signCertificate(await request(), 'UNKNOWN')).rejects.toThrow('sentry is not signing certificates: the trust bundle is invalid');
    });
  });
});

describe('refusalFor', () => {
  it.each([
    [new ValidationError('invalid-request', 'invalid request: CSR is required'), grpc.status.PERMISSION_DENIED, 'invalid_request'],
    [new ValidationError('unauthenticated', 'invalid token: expired'), grpc.status.UNAUTHENTICATED, 'unauthenticated'],
    [new ValidationError('permission-denied', 'app-id mismatch'), grpc.status.PERMISSION_DENIED, 'permission_denied'],
    [new ValidationError('unavailable', 'token review failed'), grpc.status.UNAVAILABLE, 'validator_unavailable'],
    [new CsrError('malformed', 'invalid certificate signing request: empty'), grpc.status.INVALID_ARGUMENT, 'invalid_csr'],
    [new CsrError('bad-signature', 'invalid signature'), grpc.status.INVALID_ARGUMENT, 'invalid_csr_signature'],
    [new RequestRefused('unknown-validator', 'the requested validator is not enabled'), grpc.status.INVALID_ARGUMENT, 'unknown_validator'],
    [new RequestRefused('not-signing', 'sentry is not signing'), grpc.status.UNAVAILABLE, 'not_signing'],
  ])('maps %p to its status and keeps the message', (error, code, reason) => {
    expect(refusalFor(error)).toEqual({ code, message: (error as Error).message, reason });
  });

  it('hides unexpected errors behind Internal', () => {
    expect(refusalFor(new Error('disk on fire'))).toEqual({ code: grpc.status.INTERNAL, message: 'failed to sign certificate', reason: 'internal' });
  });
});

describe('pemWithChain', () => {
  describe('when the leaf DER has any length', () => {
    it('writes what encodePem writes, followed by the chain', () => {
      const chain = Buffer.from(encodePem('CERTIFICATE', randomBytes(300)));
      // 48 and 96 bytes fill whole 64-character lines; the others end in a short line.
      for (const length of [1, 47, 48, 49, 95, 96, 97, 560, 1234]) {
        const der = randomBytes(length);
        expect(pemWithChain(der, chain).toString('latin1')).toBe(encodePem('CERTIFICATE', der) + chain.toString('latin1'));
      }
    });
  });
});
