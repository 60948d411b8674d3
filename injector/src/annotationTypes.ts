// The value types a `dapr.io/*` annotation can have: each parses the text Kubernetes stores, checks it, and says
// in words which values it accepts — that phrase is what a denied user reads in `kubectl describe rs`.
// Dapr's injector silently ignores a value it cannot parse (a warning in its own log) and injects anyway;
// tapr refuses the pod instead, because a sidecar built from half the annotations fails later and far from the
// cause (spec §5.3, issue 3 point 4).
import { parseGoDuration } from '@tapr/lib';

export interface AnnotationSpec<T> {
  readonly key: string;
  readonly default: T;
  /** The accepted values, in words: "an integer from 1 to 65535". */
  readonly accepted: string;
  /** What the annotation does (for docs and errors). */
  readonly help: string;
  /** Parses the annotation's text; throws `InvalidAnnotationValue` for a value outside `accepted`. */
  parse(raw: string): T;
}

export class InvalidAnnotationValue extends Error {}

type Extra = { help: string };

// Dapr's truthy words (dapr/kit strings.IsTruthy); the falsy ones are the rest of what people write for "no".
const truthy = new Set(['y', 'yes', 'true', 't', 'on', '1']);
const falsy = new Set(['n', 'no', 'false', 'f', 'off', '0', '']);

export function parseTruthy(raw: string): boolean | undefined {
  const word = raw.trim().toLowerCase();
  if (truthy.has(word)) return true;
  if (falsy.has(word)) return false;
  return undefined;
}

const boolAccepted = 'true or false (also y/yes/t/on/1 and n/no/f/off/0)';

export function bool(key: string, defaultValue: boolean, extra: Extra): AnnotationSpec<boolean> {
  return { key, default: defaultValue, accepted: boolAccepted, ...extra, parse: (raw) => parseBoolOrThrow(raw) };
}

/** A boolean whose absence means something of its own (Dapr passes the flag only when set). */
export function optionalBool(key: string, extra: Extra): AnnotationSpec<boolean | undefined> {
  return { key, default: undefined, accepted: boolAccepted, ...extra, parse: (raw) => parseBoolOrThrow(raw) };
}

function parseBoolOrThrow(raw: string): boolean {
  const value = parseTruthy(raw);
  if (value === undefined) throw new InvalidAnnotationValue(boolAccepted);
  return value;
}

export function integer(key: string, defaultValue: number, range: { min: number; max?: number }, extra: Extra): AnnotationSpec<number> {
  const accepted = describeRange(range);
  return { key, default: defaultValue, accepted, ...extra, parse: (raw) => parseIntegerOrThrow(raw, range, accepted) };
}

export function optionalInteger(key: string, range: { min: number; max?: number }, extra: Extra): AnnotationSpec<number | undefined> {
  const accepted = describeRange(range);
  return { key, default: undefined, accepted, ...extra, parse: (raw) => parseIntegerOrThrow(raw, range, accepted) };
}

export function port(key: string, defaultValue: number, extra: Extra): AnnotationSpec<number> {
  return integer(key, defaultValue, { min: 1, max: 65535 }, extra);
}

function describeRange({ min, max }: { min: number; max?: number }): string {
  return max === undefined ? `an integer of at least ${min}` : `an integer from ${min} to ${max}`;
}

function parseIntegerOrThrow(raw: string, range: { min: number; max?: number }, accepted: string): number {
  const text = raw.trim();
  if (!/^[+-]?\d{1,10}$/.test(text)) throw new InvalidAnnotationValue(accepted);
  const value = Number(text);
  if (value < range.min || (range.max !== undefined && value > range.max)) throw new InvalidAnnotationValue(accepted);
  return value;
}

/** Free text passed to daprd as given. */
export function text(key: string, defaultValue: string, extra: Extra): AnnotationSpec<string> {
  return { key, default: defaultValue, accepted: 'any text', ...extra, parse: (raw) => raw };
}

/** Free text whose presence matters even when empty (Dapr passes the flag whenever the annotation exists). */
export function optionalText(key: string, extra: Extra & { trimQuotes?: boolean }): AnnotationSpec<string | undefined> {
  const { trimQuotes, ...rest } = extra;
  return {
    key,
    default: undefined,
    accepted: 'any text',
    ...rest,
    // Dapr trims spaces and quotes from the placement/scheduler addresses so `""` written in YAML means "none".
    parse: (raw) => (trimQuotes ? raw.replace(/^["'\s]+|["'\s]+$/g, '') : raw),
  };
}

/** Text that must not be empty when given (an image, a path). */
export function nonEmpty(key: string, extra: Extra & { accepted?: string; check?: (value: string) => boolean }): AnnotationSpec<string | undefined> {
  const accepted = extra.accepted ?? 'a non-empty value';
  const check = extra.check ?? (() => true);
  return {
    key,
    default: undefined,
    accepted,
    help: extra.help,
    parse: (raw) => {
      const value = raw.trim();
      if (!value || !check(value)) throw new InvalidAnnotationValue(accepted);
      return value;
    },
  };
}

export function oneOf<V extends string>(
  key: string,
  defaultValue: V,
  values: readonly V[],
  extra: Extra & { caseInsensitive?: boolean },
): AnnotationSpec<V> {
  const accepted = `one of ${values.join(', ')}`;
  return { key, default: defaultValue, accepted, help: extra.help, parse: (raw) => pick(raw, values, accepted, extra.caseInsensitive) };
}

export function optionalOneOf<V extends string>(key: string, values: readonly V[], extra: Extra): AnnotationSpec<V | undefined> {
  const accepted = `one of ${values.join(', ')}`;
  return { key, default: undefined, accepted, help: extra.help, parse: (raw) => pick(raw, values, accepted, false) };
}

function pick<V extends string>(raw: string, values: readonly V[], accepted: string, caseInsensitive = false): V {
  const text = caseInsensitive ? raw.trim().toLowerCase() : raw.trim();
  const found = values.find((value) => value === text);
  if (found === undefined) throw new InvalidAnnotationValue(accepted);
  return found;
}

// Kubernetes resource quantities: a decimal number with an optional binary (Ki…Ei), decimal (n, u, m, k, M…E)
// or exponent (e3, E-2) suffix — the syntax of resource.ParseQuantity.
const quantityPattern = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

export function isQuantity(text: string): boolean {
  return quantityPattern.test(text);
}

export function quantity(key: string, extra: Extra): AnnotationSpec<string | undefined> {
  return nonEmpty(key, { ...extra, accepted: 'a Kubernetes quantity such as 100m, 0.5, 64Mi or 1G', check: isQuantity });
}

export function duration(key: string, extra: Extra): AnnotationSpec<string | undefined> {
  return nonEmpty(key, {
    ...extra,
    accepted: 'a Go duration such as 500ms, 10s or 1m30s',
    check: (value) => {
      try {
        parseGoDuration(value);
        return true;
      } catch {
        return false;
      }
    },
  });
}

/** A value built by a parser of its own (lists, env vars, the app id). */
export function custom<T>(key: string, defaultValue: T, extra: Extra & { accepted: string; parse: (raw: string) => T }): AnnotationSpec<T> {
  return { key, default: defaultValue, accepted: extra.accepted, help: extra.help, parse: extra.parse };
}
