// Command-line flags with the spellings Dapr's Go binaries accept, so tapr's binaries are drop-in replacements
// (spec §11.1): `--name=value`, `--name value`, `-name=value`, `-name value`, bare booleans or `--flag=false`,
// Go duration syntax, comma-separated slices. Two dialects:
//   pflag  (sentry, injector, placement): positional arguments are ignored wherever they appear;
//   goflag (operator, Go's stdlib `flag`): parsing stops at the first positional argument.
// Node's util.parseArgs does the tokenising; this module adds the Go dialects on top of it (single-dash long
// names, `=value` on booleans, typed values) and the exit codes Dapr uses: help → 0, bad usage → 2.
import { parseArgs } from 'node:util';
import { parseGoDuration, formatGoDuration } from './duration.js';

export type FlagSpec =
  | { type: 'string'; default: string; help: string; hidden?: boolean }
  | { type: 'bool'; default: boolean; help: string; hidden?: boolean }
  | { type: 'int'; default: number; help: string; hidden?: boolean }
  | { type: 'duration'; default: number; help: string; hidden?: boolean }
  | { type: 'stringSlice'; default: string[]; help: string; hidden?: boolean };

export type FlagSpecs = Record<string, FlagSpec>;

type ValueOf<S extends FlagSpec> = S['type'] extends 'string'
  ? string
  : S['type'] extends 'bool'
    ? boolean
    : S['type'] extends 'stringSlice'
      ? string[]
      : number;

/** Parsed flag values, keyed by flag name; durations are milliseconds. */
export type FlagValues<T extends FlagSpecs> = { -readonly [K in keyof T]: ValueOf<T[K]> };

export interface ParsedFlags<T extends FlagSpecs> {
  values: FlagValues<T>;
  /** Names of the flags given on the command line (to tell "default" from "explicitly set"). */
  set: ReadonlySet<keyof T & string>;
  positionals: string[];
}

export type FlagDialect = 'pflag' | 'goflag';

/** A usage problem: the binary prints it with the usage text and exits with `exitCode`. */
export class FlagError extends Error {
  readonly exitCode = 2;
}

/** `--help`/`-h` was given: print the usage text and exit 0. */
export class HelpRequested extends Error {
  readonly exitCode = 0;
  constructor(readonly usage: string) {
    super('help requested');
  }
}

const trueWords = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const falseWords = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

/** Go's strconv.ParseBool: the words pflag and the stdlib flag package accept for booleans. */
export function parseGoBool(text: string): boolean | undefined {
  if (trueWords.has(text)) return true;
  if (falseWords.has(text)) return false;
  return undefined;
}

export interface ParseFlagsOptions {
  program: string;
  dialect: FlagDialect;
  /** One line printed above the flag list in the usage text. */
  summary?: string;
}

export function parseFlags<T extends FlagSpecs>(specs: T, argv: readonly string[], options: ParseFlagsOptions): ParsedFlags<T> {
  const { args, positionals: early, boolWords } = normalise(argv, specs, options.dialect);
  if (args.includes('--help') || args.includes('-h')) throw new HelpRequested(usage(specs, options));

  let tokens;
  try {
    tokens = parseArgs({
      args,
      options: Object.fromEntries(
        Object.entries(specs).map(([name, spec]) => [name, { type: spec.type === 'bool' ? 'boolean' : 'string', multiple: true }]),
      ),
      strict: true,
      allowPositionals: true,
      tokens: true,
    }).tokens;
  } catch (error) {
    throw new FlagError(`${(error as Error).message.replace(/^Option '--/, "flag '--")}\n\n${usage(specs, options)}`);
  }

  const values = Object.fromEntries(Object.entries(specs).map(([name, spec]) => [name, structuredClone(spec.default)])) as Record<string, unknown>;
  const set = new Set<string>();
  const positionals = [...early];
  for (const token of tokens ?? []) {
    if (token.kind === 'positional') {
      positionals.push(token.value);
      continue;
    }
    if (token.kind !== 'option') continue;
    const spec = specs[token.name] as FlagSpec;
    const raw = spec.type === 'bool' ? (boolWords.get(token.index) ?? 'true') : (token.value ?? '');
    const firstUse = !set.has(token.name);
    set.add(token.name);
    values[token.name] = convert(token.name, spec, raw, firstUse ? undefined : values[token.name]);
  }
  return { values: values as FlagValues<T>, set: set as ReadonlySet<keyof T & string>, positionals };
}

interface Normalised {
  args: string[];
  positionals: string[];
  /** Booleans given as `--flag=false` become a bare `--flag` for parseArgs; their word, by argument index. */
  boolWords: Map<number, string>;
}

function normalise(argv: readonly string[], specs: FlagSpecs, dialect: FlagDialect): Normalised {
  const args: string[] = [];
  const boolWords = new Map<number, string>();
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i] as string;
    if (arg === '--') {
      return { args, positionals: argv.slice(i + 1), boolWords };
    }
    if (!arg.startsWith('-') || arg === '-') {
      if (dialect === 'goflag') return { args, positionals: argv.slice(i), boolWords };
      args.push(arg);
      continue;
    }
    // Go accepts one or two dashes for a long name; parseArgs wants two.
    if (!arg.startsWith('--') && arg.length > 2) arg = `-${arg}`;
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = specs[name];
    if (spec?.type === 'bool' && eq >= 0) {
      boolWords.set(args.length, arg.slice(eq + 1));
      args.push(`--${name}`);
      continue;
    }
    if (spec && spec.type !== 'bool' && eq < 0) {
      // The value is the next word even when it starts with a dash (`--log-level -x` is a value, as in Go).
      const next = argv[i + 1];
      if (next === undefined) throw new FlagError(`flag needs an argument: --${name}`);
      args.push(`--${name}=${next}`);
      i++;
      continue;
    }
    args.push(arg);
  }
  return { args, positionals: [], boolWords };
}

function convert(name: string, spec: FlagSpec, raw: string, previous: unknown): unknown {
  const bad = (expected: string) => new FlagError(`invalid argument "${raw}" for "--${name}" flag: expected ${expected}`);
  switch (spec.type) {
    case 'string':
      return raw;
    case 'bool': {
      const parsed = parseGoBool(raw);
      if (parsed === undefined) throw bad('true or false');
      return parsed;
    }
    case 'int': {
      if (!/^[+-]?\d+$/.test(raw.trim())) throw bad('an integer');
      return Number(raw);
    }
    case 'duration':
      try {
        return parseGoDuration(raw);
      } catch {
        throw bad('a duration such as 500ms, 10s or 1h30m');
      }
    case 'stringSlice': {
      const items = raw === '' ? [] : raw.split(',').map((item) => item.trim());
      // The first use replaces the default; repeats append, as pflag's slice flags do.
      return previous === undefined ? items : [...(previous as string[]), ...items];
    }
  }
}

export function usage(specs: FlagSpecs, options: ParseFlagsOptions): string {
  const lines = [`Usage of ${options.program}:`];
  if (options.summary) lines.unshift(options.summary, '');
  for (const [name, spec] of Object.entries(specs).sort(([a], [b]) => a.localeCompare(b))) {
    if (spec.hidden) continue;
    const kind = spec.type === 'bool' ? '' : ` ${spec.type === 'stringSlice' ? 'strings' : spec.type}`;
    lines.push(`      --${name}${kind}`);
    lines.push(`        ${spec.help}${describeDefault(spec)}`);
  }
  return lines.join('\n');
}

function describeDefault(spec: FlagSpec): string {
  switch (spec.type) {
    case 'string':
      return spec.default === '' ? '' : ` (default "${spec.default}")`;
    case 'bool':
      return spec.default ? ' (default true)' : '';
    case 'int':
      return ` (default ${spec.default})`;
    case 'duration':
      return ` (default ${formatGoDuration(spec.default)})`;
    case 'stringSlice':
      return spec.default.length ? ` (default [${spec.default.join(',')}])` : '';
  }
}
