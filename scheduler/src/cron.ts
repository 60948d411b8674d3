// The schedule parser Dapr's scheduler uses: github.com/dapr/kit@v0.17.0 cron (a fork of robfig/cron v3), configured
// by github.com/diagridio/go-etcd-cron@v0.12.4 internal/scheduler/builder.go NewBuilder with
// Second | Minute | Hour | Dom | Month | Dow | Descriptor — exactly six fields, seconds first, no optional field — plus
// "@…" descriptors and an optional "TZ=<zone> " / "CRON_TZ=<zone> " prefix. parser.go Parse/getRange, spec.go
// SpecSchedule.Next, constantdelay.go ConstantDelaySchedule.Next are ported one to one, error texts included.

import {
  civilIn,
  GO_ZERO_TIME,
  goDate,
  ianaZone,
  type Instant,
  joinInstant,
  splitInstant,
  UTC,
  type Zone,
} from './civil.js';
import { parseGoDurationNs } from './goDuration.js';
import { goAtoi, goFields, goStringSlice, goTrimSpace } from './goText.js';

/** A parsed schedule: the next activation strictly after `after`. */
export interface CronSchedule {
  next(after: Instant): Instant;
}

export class CronParseError extends Error {}

interface Bounds {
  min: number;
  max: number;
  names?: Readonly<Record<string, number>>;
}

const seconds: Bounds = { min: 0, max: 59 };
const minutes: Bounds = { min: 0, max: 59 };
const hours: Bounds = { min: 0, max: 23 };
const dom: Bounds = { min: 1, max: 31 };
const months: Bounds = {
  min: 1,
  max: 12,
  names: { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 },
};
const dow: Bounds = { min: 0, max: 6, names: { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 } };

/** Set when the field was "*" or "?" (with no step above 1); decides how day-of-month and day-of-week combine. */
const starBit = 1n << 63n;

const bit = (n: number): bigint => 1n << BigInt(n);

function getBits(min: bigint, max: bigint, step: bigint): bigint {
  let bits = 0n;
  for (let i = min; i <= max; i += step) bits |= 1n << i;
  return bits;
}

const all = (r: Bounds): bigint => getBits(BigInt(r.min), BigInt(r.max), 1n) | starBit;

/** mustParseInt */
function mustParseInt(expr: string): bigint {
  let num: bigint;
  try {
    num = goAtoi(expr);
  } catch (err) {
    throw new CronParseError(`failed to parse int from ${expr}: ${(err as Error).message}`);
  }
  if (num < 0n) throw new CronParseError(`negative number (${num}) not allowed: ${expr}`);
  return num;
}

function parseIntOrName(expr: string, names: Bounds['names']): bigint {
  if (names !== undefined) {
    const named = names[expr.toLowerCase()];
    if (named !== undefined && Object.hasOwn(names, expr.toLowerCase())) return BigInt(named);
  }
  return mustParseInt(expr);
}

/** getRange: number | number "-" number [ "/" number ], "*" or "?" for the whole range. */
function getRange(expr: string, r: Bounds): bigint {
  const rangeAndStep = expr.split('/');
  const lowAndHigh = (rangeAndStep[0] as string).split('-');
  const singleDigit = lowAndHigh.length === 1;
  let start: bigint;
  let end: bigint;
  let step: bigint;
  let extra = 0n;
  if (lowAndHigh[0] === '*' || lowAndHigh[0] === '?') {
    start = BigInt(r.min);
    end = BigInt(r.max);
    extra = starBit;
  } else {
    start = parseIntOrName(lowAndHigh[0] as string, r.names);
    if (lowAndHigh.length === 1) end = start;
    else if (lowAndHigh.length === 2) end = parseIntOrName(lowAndHigh[1] as string, r.names);
    else throw new CronParseError(`too many hyphens: ${expr}`);
  }
  if (rangeAndStep.length === 1) step = 1n;
  else if (rangeAndStep.length === 2) {
    step = mustParseInt(rangeAndStep[1] as string);
    // "N/step" means "N-max/step".
    if (singleDigit) end = BigInt(r.max);
    if (step > 1n) extra = 0n;
  } else throw new CronParseError(`too many slashes: ${expr}`);

  if (start < BigInt(r.min)) throw new CronParseError(`beginning of range (${start}) below minimum (${r.min}): ${expr}`);
  if (end > BigInt(r.max)) throw new CronParseError(`end of range (${end}) above maximum (${r.max}): ${expr}`);
  if (start > end) throw new CronParseError(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
  if (step === 0n) throw new CronParseError(`step of range should be a positive number: ${expr}`);
  return getBits(start, end, step) | extra;
}

/** getField: a comma-separated list of ranges (empty items are skipped, as strings.FieldsFunc does). */
function getField(field: string, r: Bounds): bigint {
  let bits = 0n;
  for (const expr of field.split(',').filter((e) => e !== '')) bits |= getRange(expr, r);
  return bits;
}

interface SpecFields {
  second: bigint;
  minute: bigint;
  hour: bigint;
  dom: bigint;
  month: bigint;
  dow: bigint;
}

/** spec.go SpecSchedule. The zone is UTC for schedules without TZ= (see SCHEDULES.md: "Local" means the time's own
 * zone, and the scheduler only passes UTC times). */
class SpecSchedule implements CronSchedule {
  constructor(
    private readonly f: SpecFields,
    private readonly zone: Zone,
  ) {}

  next(after: Instant): Instant {
    const f = this.f;
    const loc = this.zone;
    // Start at the earliest possible time (the upcoming second).
    let t = splitInstant(after).sec + 1;
    let added = false;
    const c = (): ReturnType<typeof civilIn> => civilIn(loc, t);
    const yearLimit = c().year + 5;

    wrap: for (;;) {
      if (c().year > yearLimit) return GO_ZERO_TIME;

      while ((bit(c().month) & f.month) === 0n) {
        if (!added) {
          added = true;
          const n = c();
          t = goDate(loc, n.year, n.month, 1, 0, 0, 0);
        }
        const n = c();
        t = goDate(loc, n.year, n.month + 1, n.day, n.hour, n.minute, n.second);
        if (c().month === 1) continue wrap;
      }

      while (!dayMatches(f, c())) {
        if (!added) {
          added = true;
          const n = c();
          t = goDate(loc, n.year, n.month, n.day, 0, 0, 0);
        }
        const n = c();
        t = goDate(loc, n.year, n.month, n.day + 1, n.hour, n.minute, n.second);
        // Notice if the hour is no longer midnight due to DST.
        const h = c().hour;
        if (h !== 0) {
          if (h > 12) t += (24 - h) * 3600;
          else t -= h * 3600;
        }
        if (c().day === 1) continue wrap;
      }

      while ((bit(c().hour) & f.hour) === 0n) {
        if (!added) {
          added = true;
          const n = c();
          t = goDate(loc, n.year, n.month, n.day, n.hour, 0, 0);
        }
        t += 3600;
        if (c().hour === 0) continue wrap;
      }

      while ((bit(c().minute) & f.minute) === 0n) {
        if (!added) {
          added = true;
          t = Math.floor(t / 60) * 60; // Truncate(time.Minute): absolute, not wall-clock
        }
        t += 60;
        if (c().minute === 0) continue wrap;
      }

      while ((bit(c().second) & f.second) === 0n) {
        added = true; // Truncate(time.Second) is a no-op on whole seconds
        t += 1;
        if (c().second === 0) continue wrap;
      }

      return joinInstant(t, 0);
    }
  }
}

function dayMatches(f: SpecFields, t: ReturnType<typeof civilIn>): boolean {
  const domMatch = (bit(t.day) & f.dom) > 0n;
  const dowMatch = (bit(t.weekday) & f.dow) > 0n;
  if ((f.dom & starBit) > 0n || (f.dow & starBit) > 0n) return domMatch && dowMatch;
  return domMatch || dowMatch;
}

/** constantdelay.go: "@every <d>" adds d to the previous time — no rounding, zero and negative d allowed. */
class ConstantDelaySchedule implements CronSchedule {
  constructor(readonly delayNs: bigint) {}

  next(after: Instant): Instant {
    return after + this.delayNs;
  }
}

/** time.LoadLocation, with Node's ICU zone database standing in for the scheduler's zoneinfo files. */
function loadLocation(name: string): Zone {
  if (name === '' || name === 'UTC' || name === 'Local') return UTC;
  if (name.includes('..') || name.startsWith('/') || name.startsWith('\\')) throw new Error('time: invalid location name');
  try {
    return ianaZone(name);
  } catch {
    throw new Error(`unknown time zone ${name}`);
  }
}

function parseDescriptor(descriptor: string, loc: Zone): CronSchedule {
  const spec = (p: Partial<SpecFields>): CronSchedule =>
    new SpecSchedule(
      {
        second: bit(seconds.min),
        minute: bit(minutes.min),
        hour: bit(hours.min),
        dom: all(dom),
        month: all(months),
        dow: all(dow),
        ...p,
      },
      loc,
    );
  switch (descriptor) {
    case '@yearly':
    case '@annually':
      return spec({ dom: bit(dom.min), month: bit(months.min) });
    case '@monthly':
      return spec({ dom: bit(dom.min) });
    case '@weekly':
      return spec({ dow: bit(dow.min) });
    case '@daily':
    case '@midnight':
      return spec({});
    case '@hourly':
      return spec({ hour: all(hours) });
    default:
      break;
  }
  const every = '@every ';
  if (descriptor.startsWith(every)) {
    try {
      return new ConstantDelaySchedule(parseGoDurationNs(descriptor.slice(every.length)));
    } catch (err) {
      throw new CronParseError(`failed to parse duration ${descriptor}: ${(err as Error).message}`);
    }
  }
  throw new CronParseError(`unrecognized descriptor: ${descriptor}`);
}

/** Parser.Parse with the scheduler's options. Throws CronParseError carrying Dapr's message. */
export function parseCron(input: string): CronSchedule {
  let spec = input;
  if (spec.length === 0) throw new CronParseError('empty spec string');
  let loc: Zone = UTC;
  if (spec.startsWith('TZ=') || spec.startsWith('CRON_TZ=')) {
    const i = spec.indexOf(' ');
    const eq = spec.indexOf('=');
    if (i < 0) {
      // Dapr slices spec[eq+1:-1] here and the scheduler goroutine panics ("slice bounds out of range [:-1]").
      throw new CronParseError(`provided bad location ${spec.slice(eq + 1)}: missing schedule after the time zone`);
    }
    const name = spec.slice(eq + 1, i);
    try {
      loc = loadLocation(name);
    } catch (err) {
      throw new CronParseError(`provided bad location ${name}: ${(err as Error).message}`);
    }
    spec = goTrimSpace(spec.slice(i));
  }
  if (spec.startsWith('@')) return parseDescriptor(spec, loc);

  const fields = goFields(spec);
  if (fields.length !== 6) {
    throw new CronParseError(`expected exactly 6 fields, found ${fields.length}: ${goStringSlice(fields)}`);
  }
  const [second, minute, hour, dayOfMonth, month, dayOfWeek] = fields as [string, string, string, string, string, string];
  return new SpecSchedule(
    {
      second: getField(second, seconds),
      minute: getField(minute, minutes),
      hour: getField(hour, hours),
      dom: getField(dayOfMonth, dom),
      month: getField(month, months),
      dow: getField(dayOfWeek, dow),
    },
    loc,
  );
}
