// github.com/dapr/kit@v0.17.0 time/time.go ParseISO8601Duration, quirks included: unknown letters are skipped ("P1X"
// is zero), a trailing number without a designator is dropped ("P1"), Y and M overwrite while W, D, H, M (minutes) and
// S add up, "R<n>/" sets the repetition count (-1 when absent), "R0/…" and "R-1/…" parse. Durations wrap at 64 bits
// like Go's time.Duration arithmetic.

import { goAtoi } from './goText.js';

export interface IsoDuration {
  years: number;
  months: number;
  days: number;
  /** hours, minutes and seconds, in nanoseconds */
  durationNs: bigint;
  /** -1 when the text has no R<n>/ prefix */
  repetition: number;
}

const hourNs = 3_600_000_000_000n;
const minuteNs = 60_000_000_000n;
const secondNs = 1_000_000_000n;

export class IsoDurationError extends Error {}

export function parseIsoDuration(from: string): IsoDuration {
  const fail = (): IsoDurationError => new IsoDurationError(`unsupported ISO8601 duration format: ${from}`);
  const atoi = (text: string): bigint => {
    try {
      return goAtoi(text);
    } catch {
      throw fail();
    }
  };
  const out: IsoDuration = { years: 0, months: 0, days: 0, durationNs: 0n, repetition: -1 };
  // Go indexes bytes; every byte the parser looks at is ASCII, and a non-ASCII character inside a number fails atoi
  // in both, so UTF-16 indexes give the same answers (lengths differ only below the 2-character minimum, where any
  // non-ASCII first character fails anyway).
  const l = from.length;
  if (l < 2) throw fail();
  let i = 0;
  if (from[0] === 'R') {
    for (;;) {
      i++;
      if (i === l || from[i] === '/') break;
    }
    if (i - 1 < 1) throw fail();
    out.repetition = Number(atoi(from.slice(1, i)));
    i++;
    if (i >= l) return out;
  }
  if (from[i] !== 'P') throw fail();
  i++;
  let start = i;
  let isParsingTime = false;
  const addNs = (n: bigint, unit: bigint): void => {
    out.durationNs = BigInt.asIntN(64, out.durationNs + BigInt.asIntN(64, n * unit));
  };
  for (; i < l; i++) {
    const c = from[i];
    const value = (): bigint => {
      if (start === i) throw fail();
      return atoi(from.slice(start, i));
    };
    switch (c) {
      case 'T':
        if (start !== i) throw fail();
        isParsingTime = true;
        start = i + 1;
        break;
      case 'Y':
        if (isParsingTime) throw fail();
        out.years = Number(value());
        start = i + 1;
        break;
      case 'W':
        if (isParsingTime) throw fail();
        out.days += Number(value()) * 7;
        start = i + 1;
        break;
      case 'D':
        if (isParsingTime) throw fail();
        out.days += Number(value());
        start = i + 1;
        break;
      case 'H':
        if (!isParsingTime) throw fail();
        addNs(value(), hourNs);
        start = i + 1;
        break;
      case 'S':
        if (!isParsingTime) throw fail();
        addNs(value(), secondNs);
        start = i + 1;
        break;
      case 'M': {
        const v = value();
        if (isParsingTime) addNs(v, minuteNs);
        else out.months = Number(v);
        start = i + 1;
        break;
      }
      default:
        break;
    }
  }
  return out;
}
