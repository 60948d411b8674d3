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

describe('describeError', () => {
  it('includes causes once', () => {
    expect(describeError(new Error('reading bundle', { cause: new Error('ENOENT') }))).toBe('reading bundle: ENOENT');
    expect(describeError('plain')).toBe('plain');
  });
});
