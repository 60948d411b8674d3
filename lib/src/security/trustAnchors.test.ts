import { mkdtempSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TrustAnchorsFile } from './trustAnchors.js';
import { silentLogger } from '../logger.js';
import { waitFor } from '../testing/wait.js';

const pem = (body: string) => `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;

describe('TrustAnchorsFile', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'anchors-'));
  const file = path.join(dir, 'ca.crt');

  it('reads the file at once and names it when it is missing or not PEM', () => {
    expect(() => new TrustAnchorsFile({ file, logger: silentLogger() })).toThrow(`cannot read the trust anchors file ${file}`);
    writeFileSync(file, 'garbage');
    expect(() => new TrustAnchorsFile({ file, logger: silentLogger() })).toThrow('holds no PEM certificate');
  });

  it('waits for a file that is missing or not yet PEM (a fresh install, before sentry publishes the bundle)', async () => {
    const later = path.join(dir, 'later.crt');
    let settled = false;
    const opening = TrustAnchorsFile.open({ file: later, logger: silentLogger(), pollMs: 10 }).finally(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(settled).toBe(false);
    writeFileSync(later, 'half-written');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(settled).toBe(false);
    writeFileSync(later, pem('CCCC'));
    expect((await opening).current()).toContain('CCCC');
  });

  it('stops waiting when its signal aborts, naming the file', async () => {
    const never = path.join(dir, 'never.crt');
    const controller = new AbortController();
    const opening = TrustAnchorsFile.open({ file: never, logger: silentLogger(), pollMs: 10, signal: controller.signal });
    setTimeout(() => controller.abort(), 30);
    await expect(opening).rejects.toThrow(`stopped while waiting for the trust anchors file ${never}`);
  });

  it('announces a changed file, including one swapped in by rename as ConfigMap mounts do', async () => {
    writeFileSync(file, pem('AAAA'));
    const anchors = new TrustAnchorsFile({ file, logger: silentLogger(), pollMs: 10 });
    const seen: string[] = [];
    anchors.subscribe((next) => seen.push(next));
    const controller = new AbortController();
    const running = anchors.run(controller.signal);
    try {
      writeFileSync(path.join(dir, 'next'), pem('BBBB'));
      renameSync(path.join(dir, 'next'), file);
      await waitFor(() => seen.length === 1, { timeoutMs: 5000, what: 'the change to be announced' });
      expect(anchors.current()).toContain('BBBB');
      writeFileSync(file, 'half-written');
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(anchors.current()).toContain('BBBB');
      expect(seen).toHaveLength(1);
    } finally {
      controller.abort();
      await running;
    }
  });
});
