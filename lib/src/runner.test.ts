import { EventEmitter, getMaxListeners } from 'node:events';
import { runParts, runService, readOptionsOrExit, type Part } from './runner.js';
import { silentLogger } from './logger.js';
import { FlagError, HelpRequested } from './flags.js';

const untilAborted = (signal: AbortSignal) => new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));

describe('runParts', () => {
  it('stops every part when the outer signal aborts and resolves without error', async () => {
    const stopped: string[] = [];
    const parts: Part[] = ['a', 'b'].map((name) => ({
      name,
      run: async (signal) => {
        await untilAborted(signal);
        stopped.push(name);
      },
    }));
    const controller = new AbortController();
    const running = runParts(parts, controller.signal);
    controller.abort();
    await expect(running).resolves.toBeUndefined();
    expect(stopped.sort()).toEqual(['a', 'b']);
  });

  it('stops the others when one part fails, and rejects with the failing part named', async () => {
    let otherSawAbort = false;
    const parts: Part[] = [
      { name: 'grpc-server', run: async () => Promise.reject(new Error('port in use')) },
      {
        name: 'informer',
        run: async (signal) => {
          await untilAborted(signal);
          otherSawAbort = true;
        },
      },
    ];
    await expect(runParts(parts, new AbortController().signal)).rejects.toThrow('grpc-server: port in use');
    expect(otherSawAbort).toBe(true);
  });

  it('stops the others when one part returns early', async () => {
    let otherSawAbort = false;
    const parts: Part[] = [
      { name: 'short', run: async () => undefined },
      { name: 'long', run: async (signal) => untilAborted(signal).then(() => void (otherSawAbort = true)) },
    ];
    await runParts(parts, new AbortController().signal);
    expect(otherSawAbort).toBe(true);
  });

  it('lets a dozen parts each listen to the shared signal several times without a leak warning', async () => {
    const limits: number[] = [];
    const parts: Part[] = Array.from({ length: 12 }, (_, i) => ({
      name: `part-${i}`,
      run: async (signal) => {
        limits.push(getMaxListeners(signal));
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      },
    }));
    const outer = new AbortController();
    const running = runParts(parts, outer.signal);
    outer.abort();
    await running;
    expect(Math.min(...limits)).toBeGreaterThanOrEqual(12 * 3);
  });

  it('joins the errors of several failing parts', async () => {
    const parts: Part[] = [
      { name: 'a', run: async () => Promise.reject(new Error('one')) },
      { name: 'b', run: async () => Promise.reject(new Error('two')) },
    ];
    await expect(runParts(parts, new AbortController().signal)).rejects.toThrow(/a: one; b: two|b: two; a: one/);
  });
});

class FakeProcess extends EventEmitter {
  exitCode: number | undefined;
  exit = ((code?: number) => {
    this.exitCode ??= code ?? 0;
    return undefined as never;
  }) as NodeJS.Process['exit'];
}

describe('runService', () => {
  it('exits 0 after a clean stop on SIGTERM', async () => {
    const proc = new FakeProcess();
    const done = runService((signal) => untilAborted(signal), { logger: silentLogger(), process: proc as never });
    proc.emit('SIGTERM', 'SIGTERM');
    await done;
    expect(proc.exitCode).toBe(0);
  });

  it('exits 1 when the service fails', async () => {
    const proc = new FakeProcess();
    await runService(async () => Promise.reject(new Error('boom')), { logger: silentLogger(), process: proc as never });
    expect(proc.exitCode).toBe(1);
  });

  it('exits 1 at once on a second signal during shutdown', async () => {
    const proc = new FakeProcess();
    const neverStops = new Promise<void>(() => undefined);
    void runService(() => neverStops, { logger: silentLogger(), process: proc as never, shutdownTimeoutMs: 60_000 });
    proc.emit('SIGINT', 'SIGINT');
    expect(proc.exitCode).toBeUndefined();
    proc.emit('SIGINT', 'SIGINT');
    expect(proc.exitCode).toBe(1);
  });
});

describe('readOptionsOrExit', () => {
  const run = (thrown: unknown) => {
    const out: string[] = [];
    const proc = new FakeProcess();
    const io = { exit: proc.exit, stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => out.push(s) } };
    readOptionsOrExit(() => {
      throw thrown;
    }, io as never);
    return { code: proc.exitCode, output: out.join('') };
  };

  it('prints usage and exits 0 on help', () => expect(run(new HelpRequested('Usage of x'))).toEqual({ code: 0, output: 'Usage of x\n' }));
  it('exits 2 on a usage error', () => expect(run(new FlagError('unknown flag --x')).code).toBe(2));
  it('exits 1 on an invalid value', () => expect(run(new Error('--log-level must be one of …'))).toMatchObject({ code: 1, output: expect.stringContaining('--log-level') }));
  it('returns the options when reading succeeds', () => expect(readOptionsOrExit(() => 42)).toBe(42));
});
