// Encoding objects the way Go's encoding/json marshals Dapr's typed CRs (spec §4.1): daprd decodes what the
// operator sends into those Go structs, so the bytes should be what Dapr's operator would have produced from the
// same object — fields in struct order, unknown fields dropped, `omitempty` as Go applies it (empty strings,
// false, 0, nil pointers, empty slices and maps are left out; struct values never are), absent slices and maps
// without omitempty written as `null`, map keys sorted, `metav1.Duration` normalised ("1m" → "1m0s").
// A codec turns a decoded JSON value into Go's JSON text for one Go type.
import { formatGoDuration, parseGoDuration } from '@tapr/lib/duration';

export interface Codec {
  /** Go's JSON for this value (`undefined` input = the Go zero value). */
  encode(value: unknown): string;
  /** Whether `omitempty` drops this value. */
  empty(value: unknown): boolean;
  /** Set for struct codecs: their fields, so `inline` can flatten them into a parent. */
  readonly fields?: readonly Field[];
}

export interface Field {
  json: string;
  codec: Codec;
  omitempty?: boolean;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export const string: Codec = {
  encode: (value) => goString(typeof value === 'string' ? value : ''),
  empty: (value) => typeof value !== 'string' || value === '',
};

export const bool: Codec = {
  encode: (value) => (value === true ? 'true' : 'false'),
  empty: (value) => value !== true,
};

export const int: Codec = {
  encode: (value) => (typeof value === 'number' && Number.isFinite(value) ? String(Math.trunc(value)) : '0'),
  empty: (value) => typeof value !== 'number' || Math.trunc(value) === 0,
};

/** apiextensions JSON / Dapr's DynamicValue: any JSON, `null` when absent. */
export const rawJson: Codec = {
  encode: (value) => (value === undefined ? 'null' : goAny(value)),
  // A struct in Go (never omitted when held by value); pointers to it are handled by `pointer`.
  empty: () => false,
};

/** metav1.Time: RFC 3339 in UTC with second precision; the zero time is `null`. */
export const time: Codec = {
  encode: (value) => {
    if (typeof value !== 'string' || !value) return 'null';
    const parsed = new Date(value);
    return Number.isNaN(parsed.getTime()) ? 'null' : goString(parsed.toISOString().replace(/\.\d{3}Z$/, 'Z'));
  },
  empty: () => false,
};

/** metav1.Duration: decoded with time.ParseDuration, written with Duration.String(). */
export const duration: Codec = {
  encode: (value) => {
    if (typeof value !== 'string') return goString('0s');
    try {
      return goString(formatGoDuration(parseGoDuration(value)));
    } catch {
      // Go would have refused to decode the object; keep the text rather than invent a value.
      return goString(value);
    }
  },
  empty: () => false,
};

/** `*T`: `null` (or omitted with omitempty) when absent. */
export function pointer(codec: Codec): Codec {
  return {
    encode: (value) => (value === undefined || value === null ? 'null' : codec.encode(value)),
    empty: (value) => value === undefined || value === null,
  };
}

/** `[]T`: absent = nil = `null`; omitempty drops nil and empty slices alike. */
export function slice(codec: Codec): Codec {
  return {
    encode: (value) => (Array.isArray(value) ? `[${value.map((item) => codec.encode(item)).join(',')}]` : 'null'),
    empty: (value) => !Array.isArray(value) || value.length === 0,
  };
}

/** `map[string]T`: keys sorted as Go writes them; absent = `null`. */
export function map(codec: Codec): Codec {
  return {
    encode: (value) => {
      if (!isObject(value)) return 'null';
      const keys = Object.keys(value).sort(compareGoStrings);
      return `{${keys.map((key) => `${goString(key)}:${codec.encode(value[key])}`).join(',')}}`;
    },
    empty: (value) => !isObject(value) || Object.keys(value).length === 0,
  };
}

export type FieldSpec = Field | { inline: Codec };

/** A Go struct: fields in declaration order; `{ inline }` flattens an embedded struct (`json:",inline"`). */
export function struct(specs: readonly FieldSpec[]): Codec {
  const fields: Field[] = [];
  for (const spec of specs) {
    if ('inline' in spec) fields.push(...(spec.inline.fields ?? []));
    else fields.push(spec);
  }
  return {
    fields,
    encode: (value) => {
      const object = isObject(value) ? value : {};
      const parts: string[] = [];
      for (const field of fields) {
        const item = object[field.json];
        if (field.omitempty && field.codec.empty(item)) continue;
        parts.push(`${goString(field.json)}:${field.codec.encode(item)}`);
      }
      return `{${parts.join(',')}}`;
    },
    empty: () => false,
  };
}

/** Shorthands for struct fields. */
export const f = (json: string, codec: Codec): Field => ({ json, codec });
export const o = (json: string, codec: Codec): Field => ({ json, codec, omitempty: true });

const htmlEscapes: Record<string, string> = { '<': '\\u003c', '>': '\\u003e', '&': '\\u0026', '\u2028': '\\u2028', '\u2029': '\\u2029' };

/**
 * A Go JSON string: like JSON.stringify, plus Go's HTML-safe escapes (<, >, &, U+2028, U+2029) and U+FFFD for
 * text that is not valid Unicode (lone surrogates).
 */
export function goString(text: string): string {
  return JSON.stringify((text as unknown as { toWellFormed(): string }).toWellFormed()).replace(/[<>&\u2028\u2029]/g, (c) => htmlEscapes[c] as string);
}

/** Go's float64 text: JavaScript's shortest form, with Go's two-digit exponents ("1e-07"). */
export function goNumber(value: number): string {
  if (!Number.isFinite(value)) return 'null';
  return String(value).replace(/e([+-])(\d)$/, 'e$10$2');
}

/**
 * Any JSON value as Go re-encodes raw JSON it received from the API server (which sorts object keys): keys in
 * Go's order — JavaScript would put integer-like keys first.
 */
export function goAny(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return goString(value);
  if (typeof value === 'number') return goNumber(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (Array.isArray(value)) return `[${value.map(goAny).join(',')}]`;
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object).sort(compareGoStrings);
  return `{${keys.map((key) => `${goString(key)}:${goAny(object[key])}`).join(',')}}`;
}

// Go sorts map keys by their UTF-8 bytes; JavaScript's default sort compares UTF-16 units, which differs only
// for characters outside the Basic Multilingual Plane.
function compareGoStrings(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
