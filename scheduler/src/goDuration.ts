// Go's time.ParseDuration, byte for byte (go/src/time/format.go ParseDuration, leadingInt, leadingFraction), returning
// nanoseconds as a bigint with Go's error text. @lib's parseGoDuration is not used here: it returns float milliseconds
// (so "1ns" steps and ns sums are inexact), trims surrounding whitespace (Go rejects "@every  1s"), has no overflow
// checks and words its errors differently — the scheduler must accept and reject exactly what Dapr does.

import { goTimeQuote } from './goText.js';

const unitNs = new Map<string, bigint>([
  ['ns', 1n],
  ['us', 1_000n],
  ['\u00b5s', 1_000n],
  ['\u03bcs', 1_000n],
  ['ms', 1_000_000n],
  ['s', 1_000_000_000n],
  ['m', 60_000_000_000n],
  ['h', 3_600_000_000_000n],
]);

const two63 = 1n << 63n;

export class GoDurationError extends Error {}

const isDigit = (b: number | undefined): boolean => b !== undefined && b >= 0x30 && b <= 0x39;

/** time.ParseDuration: nanoseconds, or throws GoDurationError with Go's message. */
export function parseGoDurationNs(orig: string): bigint {
  const fail = (message: string): GoDurationError => new GoDurationError(`time: ${message} ${goTimeQuote(orig)}`);
  const bytes = new TextEncoder().encode(orig);
  let p = 0;
  let neg = false;
  if (bytes.length > 0 && (bytes[0] === 0x2d || bytes[0] === 0x2b)) {
    neg = bytes[0] === 0x2d;
    p = 1;
  }
  if (bytes.length - p === 1 && bytes[p] === 0x30) return 0n;
  if (p === bytes.length) throw fail('invalid duration');
  let d = 0n;
  while (p < bytes.length) {
    const c = bytes[p];
    if (!(c === 0x2e || isDigit(c))) throw fail('invalid duration');
    // leadingInt
    const intStart = p;
    let v = 0n;
    while (isDigit(bytes[p])) {
      if (v > two63 / 10n) throw fail('invalid duration');
      v = v * 10n + BigInt((bytes[p] as number) - 0x30);
      if (v > two63) throw fail('invalid duration');
      p++;
    }
    const pre = p !== intStart;
    // leadingFraction
    let f = 0n;
    let scale = 1;
    let post = false;
    if (bytes[p] === 0x2e) {
      p++;
      const fracStart = p;
      let overflow = false;
      while (isDigit(bytes[p])) {
        if (!overflow) {
          if (f > (two63 - 1n) / 10n) overflow = true;
          else {
            const y = f * 10n + BigInt((bytes[p] as number) - 0x30);
            if (y > two63) overflow = true;
            else {
              f = y;
              scale *= 10;
            }
          }
        }
        p++;
      }
      post = p !== fracStart;
    }
    if (!pre && !post) throw fail('invalid duration');
    const unitStart = p;
    while (p < bytes.length && !(bytes[p] === 0x2e || isDigit(bytes[p]))) p++;
    if (p === unitStart) throw fail('missing unit in duration');
    const unitText = new TextDecoder().decode(bytes.subarray(unitStart, p));
    const unit = unitNs.get(unitText);
    if (unit === undefined) {
      throw new GoDurationError(`time: unknown unit ${goTimeQuote(unitText)} in duration ${goTimeQuote(orig)}`);
    }
    if (v > two63 / unit) throw fail('invalid duration');
    v *= unit;
    if (f > 0n) {
      // float64 arithmetic, truncated to an integer, as Go does.
      v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
      if (v > two63) throw fail('invalid duration');
    }
    d += v;
    if (d > two63) throw fail('invalid duration');
  }
  if (neg) return -d;
  if (d > two63 - 1n) throw fail('invalid duration');
  return d;
}
