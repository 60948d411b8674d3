import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';
import { createServer, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { silentLogger } from '@tapr/lib';
import { JwksValidator, inlineJwks, parseJwksOptions } from './jwks.js';
import { ValidationError, type SignRequest } from './validator.js';
import { removeTempDirs, tempDir } from '../testing/tempDirs.js';

afterAll(removeTempDirs);

const sentryId = 'spiffe://localhost/ns/default/dapr-sentry';

async function keyPair(kid: string) {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'ES256' };
  return { privateKey, jwk };
}

function token(privateKey: Parameters<SignJWT['sign']>[0], kid: string, claims: { sub?: string; aud?: string | string[]; exp?: number; nbf?: number }) {
  let jwt = new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid }).setIssuedAt();
  if (claims.sub) jwt = jwt.setSubject(claims.sub);
  if (claims.aud) jwt = jwt.setAudience(claims.aud);
  jwt = jwt.setExpirationTime(claims.exp ?? '1h');
  if (claims.nbf) jwt = jwt.setNotBefore(claims.nbf);
  return jwt.sign(privateKey);
}

const request = (overrides: Partial<SignRequest>): SignRequest => ({ id: 'myapp', namespace: 'default', token: '', trustDomain: '', csr: Buffer.from('x'), jwtAudiences: [], ...overrides });

async function started(source: string) {
  const validator = new JwksValidator({ jwks: { source }, sentryId, logger: silentLogger() });
  const controller = new AbortController();
  const running = validator.run(controller.signal);
  await validator.whenReady();
  return { validator, stop: async () => (controller.abort(), await running) };
}

async function refusal(promise: Promise<unknown>): Promise<ValidationError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('JwksValidator', () => {
  let key: Awaited<ReturnType<typeof keyPair>>;
  let other: Awaited<ReturnType<typeof keyPair>>;
  beforeAll(async () => {
    [key, other] = await Promise.all([keyPair('mykey'), keyPair('other')]);
  });

  describe('when the JWKS is given inline', () => {
    it('accepts a token for the requested SPIFFE ID with sentry in its audience, and refuses the rest as Dapr does', async () => {
      const { validator, stop } = await started(JSON.stringify({ keys: [key.jwk] }));
      const good = await token(key.privateKey, 'mykey', { sub: 'spiffe://public/ns/default/myapp', aud: [sentryId, 'other'] });
      await expect(validator.validate(request({ token: good }))).resolves.toEqual({ trustDomain: 'public' });

      const cases: Array<[string, Promise<string>, string]> = [
        ['audience', token(key.privateKey, 'mykey', { sub: 'spiffe://public/ns/default/myapp', aud: 'someone-else' }), '"aud"'],
        ['subject', token(key.privateKey, 'mykey', { sub: 'spiffe://public/ns/default/payments', aud: sentryId }), '"sub"'],
        ['expiry', token(key.privateKey, 'mykey', { sub: 'spiffe://public/ns/default/myapp', aud: sentryId, exp: Math.floor(Date.now() / 1000) - 600 }), '"exp"'],
        ['not-before', token(key.privateKey, 'mykey', { sub: 'spiffe://public/ns/default/myapp', aud: sentryId, nbf: Math.floor(Date.now() / 1000) + 600 }), '"nbf"'],
      ];
      for (const [, made, claim] of cases) {
        const error = await refusal(validator.validate(request({ token: await made })));
        expect(error.kind).toBe('permission-denied');
        expect(error.message).toContain('token validation failed');
        expect(error.message).toContain(claim);
      }
      const wrongKey = await refusal(validator.validate(request({ token: await token(other.privateKey, 'mykey', { sub: 'spiffe://public/ns/default/myapp', aud: sentryId }) })));
      expect(wrongKey.message).toContain('token validation failed');
      expect((await refusal(validator.validate(request({})))).message).toBe('the request does not contain a token');
      await stop();
    });

    it('uses the trust domain the request names', async () => {
      const { validator, stop } = await started(Buffer.from(JSON.stringify({ keys: [key.jwk] })).toString('base64'));
      const good = await token(key.privateKey, 'mykey', { sub: 'spiffe://example.org/ns/default/myapp', aud: sentryId });
      await expect(validator.validate(request({ token: good, trustDomain: 'example.org' }))).resolves.toEqual({ trustDomain: 'example.org' });
      await stop();
    });
  });

  describe('when the JWKS is a file', () => {
    it('follows changes to the file', async () => {
      const dir = tempDir('jwks-');
      const file = path.join(dir, 'jwks.json');
      writeFileSync(file, JSON.stringify({ keys: [key.jwk] }));
      const { validator, stop } = await started(file);
      const byOther = await token(other.privateKey, 'other', { sub: 'spiffe://public/ns/default/myapp', aud: sentryId });
      await expect(validator.validate(request({ token: byOther }))).rejects.toThrow('token validation failed');
      writeFileSync(file, JSON.stringify({ keys: [key.jwk, other.jwk] }));
      const deadline = Date.now() + 5000;
      let result: unknown;
      while (Date.now() < deadline && !result) {
        result = await validator.validate(request({ token: byOther })).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(result).toEqual({ trustDomain: 'public' });
      await stop();
    });
  });

  describe('when the JWKS is served over HTTP', () => {
    let server: Server;
    let port = 0;
    beforeAll(async () => {
      server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [key.jwk] })));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as { port: number }).port;
    });
    afterAll(() => server.close());

    it('fetches it and verifies tokens with it', async () => {
      const { validator, stop } = await started(`http://127.0.0.1:${port}/jwks.json`);
      const deadline = Date.now() + 5000;
      const good = await token(key.privateKey, 'mykey', { sub: 'spiffe://public/ns/default/myapp', aud: sentryId });
      let result: unknown;
      while (Date.now() < deadline && !result) {
        result = await validator.validate(request({ token: good })).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(result).toEqual({ trustDomain: 'public' });
      await stop();
    });
  });
});

describe('jwks options', () => {
  it('require a source and valid durations', () => {
    expect(() => parseJwksOptions({})).toThrow("option 'source' must not be empty");
    expect(() => parseJwksOptions({ source: 'x', minRefreshInterval: 'soon' })).toThrow('jwks validator option minRefreshInterval');
    expect(parseJwksOptions({ source: 'x', requestTimeout: '5s' })).toEqual({ source: 'x', requestTimeout: '5s', caCertificate: undefined, minRefreshInterval: undefined });
  });

  it('refuse an inline value that is neither JSON nor base64 JSON', () => {
    expect(() => inlineJwks('not json')).toThrow('not a URL, path to local file, or JSON value');
  });
});
