// Structured logging for every service: JSON lines in a cluster (`--log-as-json`), readable text locally, Dapr's
// levels (debug, info, warn, error, fatal). Each part logs through a named child (`tapr.sentry.ca`), as Dapr does.
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

const winstonLevels = { fatal: 0, error: 1, warn: 2, info: 3, debug: 4 };

export function isLogLevel(value: string): value is LogLevel {
  return (logLevels as readonly string[]).includes(value);
}

export function createLogger(options: LoggerOptions): Logger {
  const format = options.json
    ? winston.format.combine(winston.format.timestamp(), winston.format.json())
    : winston.format.combine(winston.format.timestamp(), winston.format.printf(formatText));
  const transport = options.file
    ? new winston.transports.File({ filename: options.file })
    : new winston.transports.Stream({ stream: options.stream ?? process.stdout });
  const root = winston.createLogger({
    levels: winstonLevels,
    level: options.level ?? 'info',
    format,
    transports: [transport],
  });
  return wrap(root.child({ scope: options.scope }), options.scope, root.level);
}

function wrap(target: winston.Logger, scope: string, level: string): Logger {
  const at = (name: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    target.log(name, message, fields ? normaliseFields(fields) : undefined);
  };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    fatal: at('fatal'),
    child: (name) => wrap(target.child({ scope: `${scope}.${name}` }), `${scope}.${name}`, level),
    isDebugEnabled: () => level === 'debug',
  };
}

// Errors do not serialise to JSON by themselves: keep their message (and cause) so logs say what failed.
function normaliseFields(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) out[key] = value instanceof Error ? describeError(value) : value;
  return out;
}

export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause === undefined ? '' : `: ${describeError(error.cause)}`;
  return cause && !error.message.endsWith(cause.slice(2)) ? `${error.message}${cause}` : error.message;
}

function formatText(info: winston.Logform.TransformableInfo): string {
  const { timestamp, level, message, scope, ...fields } = info as Record<string, unknown>;
  const extra = Object.entries(fields)
    .filter(([key]) => typeof key === 'string')
    .map(([key, value]) => `${key}=${typeof value === 'string' && !/\s/.test(value) ? value : JSON.stringify(value)}`)
    .join(' ');
  return `${String(timestamp)} ${String(level).toUpperCase().padEnd(5)} [${String(scope)}] ${String(message)}${extra ? ` ${extra}` : ''}`;
}

/** A logger that drops everything: for unit tests of parts that take a logger. */
export function silentLogger(): Logger {
  const noop = () => undefined;
  const logger: Logger = { debug: noop, info: noop, warn: noop, error: noop, fatal: noop, child: () => logger, isDebugEnabled: () => false };
  return logger;
}
