// time.Parse(time.RFC3339, s) from Go's time package (format.go parse with the layout "2006-01-02T15:04:05Z07:00";
// the parseRFC3339 fast path accepts a subset of it). What the general parser lets through and a strict RFC 3339
// reader would not: a one-digit hour ("T1:02:03"), a comma before the fraction, more than nine fraction digits (cut to
// nine), offsets up to ±24:60. Rejected: lower-case "t"/"z", a space for "T", a missing zone, second 60, Feb 29 of a
// common year.

import { daysIn, type Instant, joinInstant, wallSeconds } from './civil.js';

const isDigit = (s: string, i: number): boolean => i < s.length && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39;
const num = (s: string, from: number, to: number): number => Number(s.slice(from, to));

/** The instant s names, or undefined when Go's time.Parse(time.RFC3339, s) returns an error. */
export function parseGoRFC3339(s: string): Instant | undefined {
  let p = 0;
  // 2006: four characters, the first a digit, all digits for atoi
  if (s.length < 4 || !/^[0-9]{4}$/.test(s.slice(0, 4))) return undefined;
  const year = num(s, 0, 4);
  p = 4;
  const literal = (c: string): boolean => {
    if (s[p] !== c) return false;
    p++;
    return true;
  };
  // getnum(value, fixed): one or two digits, two when fixed
  const getnum = (fixed: boolean): number | undefined => {
    if (!isDigit(s, p)) return undefined;
    if (!isDigit(s, p + 1)) {
      if (fixed) return undefined;
      return num(s, p, ++p);
    }
    const v = num(s, p, p + 2);
    p += 2;
    return v;
  };
  if (!literal('-')) return undefined;
  const month = getnum(true);
  if (month === undefined || month < 1 || month > 12) return undefined;
  if (!literal('-')) return undefined;
  const day = getnum(true);
  if (day === undefined) return undefined;
  if (!literal('T')) return undefined;
  const hour = getnum(false);
  if (hour === undefined || hour >= 24) return undefined;
  if (!literal(':')) return undefined;
  const min = getnum(true);
  if (min === undefined || min >= 60) return undefined;
  if (!literal(':')) return undefined;
  const sec = getnum(true);
  if (sec === undefined || sec >= 60) return undefined;
  let nsec = 0;
  if (s.length - p >= 2 && (s[p] === '.' || s[p] === ',') && isDigit(s, p + 1)) {
    let n = 2;
    while (isDigit(s, p + n)) n++;
    const nbytes = Math.min(n, 10);
    nsec = num(s, p + 1, p + nbytes) * 10 ** (10 - nbytes);
    p += n;
  }
  let offset = 0;
  if (s[p] === 'Z') {
    p++;
  } else {
    if (s.length - p < 6 || s[p + 3] !== ':') return undefined;
    const sign = s[p];
    if (!isDigit(s, p + 1) || !isDigit(s, p + 2) || !isDigit(s, p + 4) || !isDigit(s, p + 5)) return undefined;
    const hr = num(s, p + 1, p + 3);
    const mm = num(s, p + 4, p + 6);
    if (hr > 24 || mm > 60) return undefined;
    if (sign !== '+' && sign !== '-') return undefined;
    offset = (hr * 60 + mm) * 60 * (sign === '-' ? -1 : 1);
    p += 6;
  }
  if (p !== s.length) return undefined;
  if (day < 1 || day > daysIn(month, year)) return undefined;
  return joinInstant(wallSeconds(year, month, day, hour, min, sec) - offset, nsec);
}
