import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadFileConfig, parseConfigurationSpec } from './config.js';
import { removeTempDirs, tempDir } from './testing/tempDirs.js';

afterAll(removeTempDirs);

describe('sentry configuration', () => {
  describe('when the spec sets mTLS values', () => {
    it('reads workloadCertTTL and allowedClockSkew as Go durations', () => {
      expect(parseConfigurationSpec({ mtls: { workloadCertTTL: '1h30m', allowedClockSkew: '30s' } }, true)).toEqual({
        workloadCertTtlMs: 5_400_000,
        allowedClockSkewMs: 30_000,
        validators: ['KUBERNETES'],
        defaultValidator: 'KUBERNETES',
      });
    });

    it('defaults to 24h and 15m, and to the insecure validator in self-hosted mode', () => {
      expect(parseConfigurationSpec(undefined, false)).toEqual({ workloadCertTtlMs: 86_400_000, allowedClockSkewMs: 900_000, validators: ['INSECURE'], defaultValidator: 'INSECURE' });
    });

    it('refuses a bad duration, built-in validators, unknown validators and a jwks validator without a source', () => {
      expect(() => parseConfigurationSpec({ mtls: { workloadCertTTL: 'a day' } }, true)).toThrow('error parsing workloadCertTTL duration');
      expect(() => parseConfigurationSpec({ mtls: { tokenValidators: [{ name: 'kubernetes' }] } }, true)).toThrow("the built-in 'kubernetes' and 'insecure' validators cannot be configured manually");
      expect(() => parseConfigurationSpec({ mtls: { tokenValidators: [{ name: 'ldap' }] } }, true)).toThrow("invalid token validator name: 'ldap'");
      expect(() => parseConfigurationSpec({ mtls: { tokenValidators: [{ name: 'jwks' }] } }, false)).toThrow("option 'source' must not be empty");
    });

    it('adds JWKS to KUBERNETES in Kubernetes mode, and replaces INSECURE with it in self-hosted mode', () => {
      const spec = { mtls: { tokenValidators: [{ name: 'jwks', options: { source: 'https://issuer.example/jwks.json', minRefreshInterval: '1m' } }] } };
      expect(parseConfigurationSpec(spec, true)).toMatchObject({ validators: ['KUBERNETES', 'JWKS'], defaultValidator: 'KUBERNETES', jwks: { source: 'https://issuer.example/jwks.json', minRefreshInterval: '1m' } });
      const selfHosted = parseConfigurationSpec(spec, false);
      expect(selfHosted.validators).toEqual(['JWKS']);
      expect(selfHosted.defaultValidator).toBeUndefined();
    });
  });

  describe('when self-hosted sentry reads a file', () => {
    const dir = tempDir('sentry-config-');

    it('expands ${VAR} and reads the Configuration', async () => {
      const file = path.join(dir, 'config.yaml');
      writeFileSync(file, 'apiVersion: dapr.io/v1alpha1\nkind: Configuration\nspec:\n  mtls:\n    workloadCertTTL: ${TTL}\n');
      expect((await loadFileConfig(file, { TTL: '2h' })).workloadCertTtlMs).toBe(7_200_000);
    });

    it('treats an empty file or no file name as defaults, and a missing file as an error', async () => {
      const empty = path.join(dir, 'empty.yaml');
      writeFileSync(empty, '');
      expect((await loadFileConfig(empty, {})).workloadCertTtlMs).toBe(86_400_000);
      expect((await loadFileConfig('', {})).allowedClockSkewMs).toBe(900_000);
      await expect(loadFileConfig(path.join(dir, 'missing.yaml'), {})).rejects.toThrow(`couldn't find config name "${path.join(dir, 'missing.yaml')}"`);
    });
  });
});
