import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { createLogger, describeError } from './logger.js';

function capture(json: boolean, level: 'debug' | 'info' = 'info') {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
  return { logger: createLogger({ scope: 'tapr.sentry', json, level, stream }), lines };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('createLogger', () => {
  it('writes JSON lines with the scope, level and fields', async () => {
    const { logger, lines } = capture(true);
    logger.child('ca').info('issuer loaded', { notAfter: '2027-01-01', error: new Error('x', { cause: new Error('y') }) });
    await flush();
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'info', message: 'issuer loaded', scope: 'tapr.sentry.ca', notAfter: '2027-01-01', error: 'x: y' });
  });

  it('writes readable text locally', async () => {
    const { logger, lines } = capture(false);
    logger.warn('root expires soon', { days: 10 });
    await flush();
    expect(lines[0]).toMatch(/^\S+ WARN  \[tapr\.sentry\] root expires soon days=10$/);
  });

  it('never lets a field replace the message, level, scope or time', async () => {
    const { logger, lines } = capture(false);
    logger.warn('pod denied', { message: 'bad annotation', level: 'x', scope: 'y', timestamp: 'z' });
    await flush();
    expect(lines[0]).toMatch(/^\d{4}-\S+ WARN  \[tapr\.sentry\] pod denied field\.message="bad annotation" field\.level=x field\.scope=y field\.timestamp=z$/);
  });

  it('drops messages below the level', async () => {
    const { logger, lines } = capture(true, 'info');
    logger.debug('noise');
    logger.fatal('the end');
    await flush();
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!).level).toBe('fatal');
    expect(logger.isDebugEnabled()).toBe(false);
  });
});

describe('createLogger with JSON', () => {
  it('sorts keys at every depth, cuts cycles and writes BigInts, so any field can be logged', async () => {
    const { logger, lines } = capture(true);
    const loop: Record<string, unknown> = { name: 'loop' };
    loop['self'] = loop;
    logger.info('odd fields', { z: { b: 1, a: 2 }, loop, big: 10n });
    await flush();
    expect(lines[0]).toMatch(/^\{"big":"10","level":"info","loop":\{"name":"loop","self":"\[Circular\]"\},"message":"odd fields","scope":"tapr.sentry","timestamp":"[^"]+","z":\{"a":2,"b":1\}\}$/);
  });
});

async function waitForFile(file: string, pattern: RegExp): Promise<void> {
  for (let i = 0; i < 200 && !pattern.test(readFileSync(file, 'utf8')); i++) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('createLogger with --log-file', () => {
  it('appends to the file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'logger-'));
    try {
      const file = path.join(dir, 'sentry.log');
      // Two loggers one after the other, as two runs of a service: the second must not truncate the first's lines.
      // (Each has its own stream, so the second writes only after the first's line is on disk.)
      createLogger({ scope: 's', file }).info('one');
      await waitForFile(file, /one\n$/);
      createLogger({ scope: 's', file }).info('two');
      await waitForFile(file, /two\n$/);
      expect(readFileSync(file, 'utf8')).toMatch(/^\S+ INFO  \[s\] one\n\S+ INFO  \[s\] two\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails at once, naming the file, when it cannot be opened', () => {
    expect(() => createLogger({ scope: 's', file: '/nonexistent/dir/x.log' })).toThrow('cannot open the log file /nonexistent/dir/x.log');
  });
});

describe('describeError', () => {
  it('includes causes once', () => {
    expect(describeError(new Error('reading bundle', { cause: new Error('ENOENT') }))).toBe('reading bundle: ENOENT');
    expect(describeError('plain')).toBe('plain');
  });
});
