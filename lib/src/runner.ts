// Running a service's parts together: every part gets the same AbortSignal; the first part to stop (by error or
// by returning) stops the others, and their errors are reported together. `runService` ties that to the process:
// SIGTERM/SIGINT stop it gracefully with exit code 0, a second signal or a stuck shutdown exits 1 (spec §11.1).
import type { Logger } from './logger.js';
import { describeError } from './logger.js';
import { FlagError, HelpRequested } from './flags.js';
import { setMaxListeners } from 'node:events';

export interface Part {
  readonly name: string;
  run(signal: AbortSignal): Promise<void>;
}

/** Wraps a part object (anything with `run(signal)`) with the name used in logs and errors. */
export function part(name: string, runnable: { run(signal: AbortSignal): Promise<void> }): Part {
  return { name, run: (signal) => runnable.run(signal) };
}

export async function runParts(parts: readonly Part[], signal: AbortSignal, logger?: Logger): Promise<void> {
  const stop = new AbortController();
  // Every part listens to this signal, some several times (servers, watches, timers): more than Node's default of
  // ten listeners is normal here, not a leak, and must not print a MaxListenersExceededWarning.
  setMaxListeners(Math.max(10, 8 * parts.length), stop.signal);
  const onOuterAbort = () => stop.abort(signal.reason);
  if (signal.aborted) stop.abort(signal.reason);
  else signal.addEventListener('abort', onOuterAbort, { once: true });

  const errors: Error[] = [];
  await Promise.all(
    parts.map(async (p) => {
      try {
        await p.run(stop.signal);
        if (!stop.signal.aborted) logger?.info('part stopped; stopping the others', { part: p.name });
      } catch (error) {
        errors.push(new Error(`${p.name}: ${describeError(error)}`, { cause: error }));
        if (!stop.signal.aborted) logger?.error('part failed; stopping the others', { part: p.name, error });
      } finally {
        stop.abort(new Error(`${p.name} stopped`));
      }
    }),
  );
  signal.removeEventListener('abort', onOuterAbort);
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, errors.map((e) => e.message).join('; '));
}

export interface RunServiceOptions {
  logger: Logger;
  /** How long shutdown may take after the first signal before the process exits with 1. */
  shutdownTimeoutMs?: number;
  /** For tests: the process-like object whose signals and exit are used. */
  process?: Pick<NodeJS.Process, 'on' | 'off' | 'exit'>;
}

/** Runs `main` until it returns or a signal arrives; then exits the process (0 on a clean stop, 1 on failure). */
export async function runService(main: (signal: AbortSignal) => Promise<void>, options: RunServiceOptions): Promise<never> {
  const proc = options.process ?? process;
  const { logger } = options;
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (name: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      logger.error('second signal received during shutdown; exiting now', { signal: name });
      proc.exit(1);
      return;
    }
    logger.info('shutting down', { signal: name });
    controller.abort(new Error(`received ${name}`));
    const timer = setTimeout(() => {
      logger.error('shutdown did not finish in time; exiting', { timeoutMs: options.shutdownTimeoutMs ?? 30_000 });
      proc.exit(1);
    }, options.shutdownTimeoutMs ?? 30_000);
    timer.unref();
  };
  proc.on('SIGTERM', onSignal);
  proc.on('SIGINT', onSignal);
  let code = 0;
  try {
    await main(controller.signal);
    logger.info('stopped');
  } catch (error) {
    logger.fatal('stopped with an error', { error });
    code = 1;
  }
  proc.off('SIGTERM', onSignal);
  proc.off('SIGINT', onSignal);
  return proc.exit(code) as never;
}

/**
 * Reads a binary's options; on `--help` prints the usage and exits 0, on a usage error exits 2, on an invalid
 * value (a validation error) exits 1 — the exit codes Dapr's binaries use.
 */
export function readOptionsOrExit<T>(read: () => T, proc: Pick<NodeJS.Process, 'exit' | 'stdout' | 'stderr'> = process): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof HelpRequested) {
      proc.stdout.write(`${error.usage}\n`);
      return proc.exit(0) as never;
    }
    if (error instanceof FlagError) {
      proc.stderr.write(`${error.message}\n`);
      return proc.exit(2) as never;
    }
    proc.stderr.write(`invalid configuration: ${describeError(error)}\n`);
    return proc.exit(1) as never;
  }
}
