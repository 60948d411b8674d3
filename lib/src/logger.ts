// Structured logging for every service: JSON lines in a cluster (`--log-as-json`), readable text locally, Dapr's
// levels (debug, info, warn, error, fatal). Each part logs through a named child (`tapr.sentry.ca`), as Dapr does.
import { createWriteStream, openSync } from 'node:fs';
import winston from 'winston';

export const logLevels = ['debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevel = (typeof logLevels)[number];

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  fatal(message: string, fields?: Record<string, unknown>): void;
  /** A logger for a part of this one: its scope is `<this scope>.<name>`. */
  child(name: string): Logger;
  isDebugEnabled(): boolean;
}

export interface LoggerOptions {
  /** Scope of the root logger, e.g. `tapr.sentry`. */
  scope: string;
  level?: LogLevel;
  json?: boolean;
  /** Append to this file instead of writing to stdout (Dapr's `--log-file`). */
  file?: string;
  /** Where text goes when no file is given; tests pass their own stream. */
  stream?: NodeJS.WritableStream;
}

const severity: Record<LogLevel, number> = { fatal: 0, error: 1, warn: 2, info: 3, debug: 4 };

export function isLogLevel(value: string): value is LogLevel {
  return (logLevels as readonly string[]).includes(value);
}

/**
 * A winston logger writing one line per entry to stdout (or `--log-file`, appended): text `<time> <LEVEL> [scope]
 * message key=value…` locally, JSON objects `{level, message, scope, timestamp, …fields}` with `--log-as-json`.
 */
export function createLogger(options: LoggerOptions): Logger {
  const level = options.level ?? 'info';
  const stream = options.file ? openLogFile(options.file) : (options.stream ?? process.stdout);
  const root = winston.createLogger({
    levels: severity,
    level,
    format: winston.format.printf((info) => {
      const { level: name, message, scope, timestamp, ...fields } = info as Record<string, unknown>;
      const format = options.json ? formatJson : formatText;
      return format(String(timestamp), name as LogLevel, String(scope), String(message), fields);
    }),
    transports: [new winston.transports.Stream({ stream })],
  });
  const threshold = severity[level];
  const make = (scope: string): Logger => {
    const at = (name: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
      // Checked here too, so a filtered-out debug line costs nothing (not even building winston's info object).
      if (severity[name] > threshold) return;
      root.log({ level: name, message, scope, timestamp: new Date().toISOString(), ...(fields ? normaliseFields(fields) : {}) });
    };
    return {
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      fatal: at('fatal'),
      child: (name) => make(`${scope}.${name}`),
      isDebugEnabled: () => level === 'debug',
    };
  };
  return make(options.scope);
}

/** Opens the file now, so a bad `--log-file` fails at start with its name rather than later in a stream event. */
function openLogFile(file: string): NodeJS.WritableStream {
  let fd: number;
  try {
    fd = openSync(file, 'a');
  } catch (error) {
    throw new Error(`cannot open the log file ${file}: ${(error as Error).message}`, { cause: error });
  }
  const stream = createWriteStream(file, { fd });
  stream.on('error', (error) => process.stderr.write(`writing the log file ${file} failed: ${error.message}\n`));
  return stream;
}

// The entry's own keys: a field with one of these names would overwrite the message, level, scope or time.
const entryKeys = new Set(['level', 'message', 'scope', 'timestamp']);

// Errors do not serialise to JSON by themselves: keep their message (and cause) so logs say what failed. A field
// named like an entry key keeps its value under `field.<name>` instead of replacing the entry's own.
function normaliseFields(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    out[entryKeys.has(key) ? `field.${key}` : key] = value instanceof Error ? describeError(value) : value;
  }
  return out;
}

export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause === undefined ? '' : `: ${describeError(error.cause)}`;
  return cause && !error.message.endsWith(cause.slice(2)) ? `${error.message}${cause}` : error.message;
}

function formatText(timestamp: string, level: LogLevel, scope: string, message: string, fields: Record<string, unknown>): string {
  const extra = Object.entries(fields)
    .map(([key, value]) => `${key}=${typeof value === 'string' && !/\s/.test(value) ? value : stringify(value)}`)
    .join(' ');
  return `${timestamp} ${level.toUpperCase().padEnd(5)} [${scope}] ${message}${extra ? ` ${extra}` : ''}`;
}

function formatJson(timestamp: string, level: LogLevel, scope: string, message: string, fields: Record<string, unknown>): string {
  return stringify({ ...fields, level, message, scope, timestamp });
}

/** JSON with object keys sorted, an object met again shown as "[Circular]", BigInts as strings; never throws. */
function stringify(value: unknown): string {
  const seen = new WeakSet<object>();
  try {
    return JSON.stringify(value, (_key, item: unknown) => {
      if (typeof item === 'bigint') return item.toString();
      if (item instanceof Error) return describeError(item);
      if (item === null || typeof item !== 'object' || Array.isArray(item)) return item;
      if (seen.has(item)) return '[Circular]';
      seen.add(item);
      if (item.constructor !== Object && item.constructor !== undefined) return item;
      const sorted: Record<string, unknown> = {};
      for (const key of Object.keys(item).sort()) sorted[key] = (item as Record<string, unknown>)[key];
      return sorted;
    }) as string;
  } catch (error) {
    return JSON.stringify(`unserialisable: ${describeError(error)}`);
  }
}

/** A logger that drops everything: for unit tests of parts that take a logger. */
export function silentLogger(): Logger {
  const noop = () => undefined;
  const logger: Logger = { debug: noop, info: noop, warn: noop, error: noop, fatal: noop, child: () => logger, isDebugEnabled: () => false };
  return logger;
}
