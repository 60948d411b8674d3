// Instants and calendar arithmetic the way Go's time package does them: proleptic Gregorian calendar, Unix seconds +
// nanoseconds, time.Date's normalisation (month 13 = January next year, day 0 = last day of the previous month) and
// its rule for wall-clock times that a zone skips or repeats. Instants are bigint nanoseconds since the Unix epoch so
// RFC 3339 fractions and "@every 1ns" stay exact; JavaScript Dates only reach milliseconds.

/** Nanoseconds since 1970-01-01T00:00:00Z. */
export type Instant = bigint;

export const NS_PER_SECOND = 1_000_000_000n;

/** Go's zero time.Time (0001-01-01T00:00:00Z), which SpecSchedule.Next returns when nothing matches in five years. */
export const GO_ZERO_TIME: Instant = -62_135_596_800n * NS_PER_SECOND;

export function instantFromDate(date: Date): Instant {
  return BigInt(date.getTime()) * 1_000_000n;
}

/** Now, from the wall clock (millisecond precision). */
export function nowInstant(): Instant {
  return instantFromDate(new Date());
}

/** The instant as a Date, rounded down to the millisecond. */
export function instantToDate(instant: Instant): Date {
  const ms = instant / 1_000_000n - (instant % 1_000_000n < 0n ? 1n : 0n);
  return new Date(Number(ms));
}

export function splitInstant(instant: Instant): { sec: number; nsec: number } {
  let sec = instant / NS_PER_SECOND;
  let nsec = instant % NS_PER_SECOND;
  if (nsec < 0n) {
    sec -= 1n;
    nsec += NS_PER_SECOND;
  }
  return { sec: Number(sec), nsec: Number(nsec) };
}

export function joinInstant(sec: number, nsec: number): Instant {
  return BigInt(sec) * NS_PER_SECOND + BigInt(nsec);
}

const floorDiv = (a: number, b: number): number => Math.floor(a / b);
const mod = (a: number, b: number): number => a - b * Math.floor(a / b);

/** Days since 1970-01-01 of a proleptic Gregorian date (month 1–12). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = floorDiv(y, 400);
  const yoe = y - era * 400;
  const mp = mod(month + 9, 12);
  const doy = floorDiv(153 * mp + 2, 5) + day - 1;
  const doe = yoe * 365 + floorDiv(yoe, 4) - floorDiv(yoe, 100) + doy;
  return era * 146097 + doe - 719468;
}

export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719468;
  const era = floorDiv(z, 146097);
  const doe = z - era * 146097;
  const yoe = floorDiv(doe - floorDiv(doe, 1460) + floorDiv(doe, 36524) - floorDiv(doe, 146096), 365);
  const doy = doe - (365 * yoe + floorDiv(yoe, 4) - floorDiv(yoe, 100));
  const mp = floorDiv(5 * doy + 2, 153);
  const day = doy - floorDiv(153 * mp + 2, 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

export function isLeap(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

/** time.daysIn */
export function daysIn(month: number, year: number): number {
  if (month === 2) return isLeap(year) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Wall-clock fields, normalised like time.Date, as seconds on a UTC clock. */
export function wallSeconds(year: number, month: number, day: number, hour: number, min: number, sec: number): number {
  const m0 = month - 1;
  const y = year + floorDiv(m0, 12);
  const m = mod(m0, 12) + 1;
  return (daysFromCivil(y, m, 1) + day - 1) * 86400 + hour * 3600 + min * 60 + sec;
}

/** A time zone: its UTC offset in seconds at a Unix second. */
export interface Zone {
  readonly name: string;
  offsetAt(unixSec: number): number;
}

export const UTC: Zone = { name: 'UTC', offsetAt: () => 0 };

/** An IANA zone through Node's ICU data (Intl). Throws RangeError when ICU does not know the name. */
export function ianaZone(name: string): Zone {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: name,
    hourCycle: 'h23',
    era: 'short',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
  return {
    name,
    offsetAt(unixSec: number): number {
      const parts: Record<string, string> = {};
      for (const part of format.formatToParts(new Date(unixSec * 1000))) parts[part.type] = part.value;
      let year = Number(parts.year);
      if (parts.era === 'BC' || parts.era === 'B') year = 1 - year;
      const wall = wallSeconds(
        year,
        Number(parts.month),
        Number(parts.day),
        Number(parts.hour),
        Number(parts.minute),
        Number(parts.second),
      );
      return wall - unixSec;
    },
  };
}

/**
 * time.Date(year, month, day, hour, min, sec, 0, zone) as a Unix second. For a wall time a zone skips or repeats, Go
 * takes the offset in effect at (wall − offset(wall)), which is what this does.
 */
export function goDate(zone: Zone, year: number, month: number, day: number, hour: number, min: number, sec: number): number {
  const unix = wallSeconds(year, month, day, hour, min, sec);
  const offset = zone.offsetAt(unix);
  if (offset === 0) return unix;
  return unix - zone.offsetAt(unix - offset);
}

export interface CivilTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 = Sunday */
  weekday: number;
}

export function civilIn(zone: Zone, unixSec: number): CivilTime {
  const local = unixSec + zone.offsetAt(unixSec);
  const days = floorDiv(local, 86400);
  const rem = local - days * 86400;
  const { year, month, day } = civilFromDays(days);
  return {
    year,
    month,
    day,
    hour: floorDiv(rem, 3600),
    minute: floorDiv(rem % 3600, 60),
    second: rem % 60,
    weekday: mod(days + 4, 7),
  };
}

/** time.Time.AddDate(years, months, days) for a time in UTC with nanoseconds. */
export function addDateUTC(instant: Instant, years: number, months: number, days: number): Instant {
  const { sec, nsec } = splitInstant(instant);
  const c = civilIn(UTC, sec);
  return joinInstant(wallSeconds(c.year + years, c.month + months, c.day + days, c.hour, c.minute, c.second), nsec);
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/** t.UTC().Format(time.RFC3339Nano): trailing zeros of the fraction dropped, years 0–9999 as four digits. */
export function formatRFC3339Nano(instant: Instant): string {
  const { sec, nsec } = splitInstant(instant);
  const c = civilIn(UTC, sec);
  const year = c.year < 0 ? `-${pad(-c.year, 4)}` : pad(c.year, 4);
  let frac = '';
  if (nsec !== 0) frac = `.${pad(nsec, 9).replace(/0+$/, '')}`;
  return `${year}-${pad(c.month, 2)}-${pad(c.day, 2)}T${pad(c.hour, 2)}:${pad(c.minute, 2)}:${pad(c.second, 2)}${frac}Z`;
}
