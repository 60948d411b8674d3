// Polling until a condition holds, with a deadline — tests never sleep a fixed time.

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Says what was awaited, for the timeout error. */
  what?: string;
  /** Stops waiting (rejecting) when aborted. */
  signal?: AbortSignal;
}

/**
 * Calls `probe` until it returns a value other than undefined/false, and returns that value; throws after the
 * timeout with the last error the probe threw (if any), so a failing test says what it was waiting for.
 */
export async function waitFor<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, options: WaitOptions = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      lastError = error;
    }
    if (options.signal?.aborted) throw new Error(`stopped waiting for ${options.what ?? 'a condition'}`, { cause: options.signal.reason });
    if (Date.now() >= deadline) {
      const reason = lastError instanceof Error ? `: last error: ${lastError.message}` : '';
      throw new Error(`timed out after ${options.timeoutMs ?? 30_000} ms waiting for ${options.what ?? 'a condition'}${reason}`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100));
  }
}
