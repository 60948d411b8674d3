// Cron schedules as Dapr's scheduler reads them. Facts taken from github.com/dapr/kit@v0.17.0 cron (parser.go,
// spec.go, constantdelay.go — a robfig/cron v3 fork) as configured by github.com/diagridio/go-etcd-cron@v0.12.4
// internal/scheduler/builder.go: exactly six fields with seconds first, "@" descriptors, and an optional
// "TZ=<zone> " or "CRON_TZ=<zone> " prefix. Error texts are Dapr's, since clients see them.
//
// Design: each field becomes a lookup table of allowed values; the search for the next time walks a list of
// calendar units from largest to smallest, restarting whenever a smaller unit rolls a larger one over.

import {
  type CivilTime,
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

const fail = (message: string): never => {
  throw new CronParseError(message);
};

// ---------------------------------------------------------------------------------------------------------------
// Field grammar

/** What one of the six positions may hold. */
interface FieldKind {
  readonly low: number;
  readonly high: number;
  /** Case-insensitive aliases (month and weekday names). */
  readonly aliases?: ReadonlyMap<string, number>;
}

const aliasMap = (names: readonly string[], first: number): ReadonlyMap<string, number> =>
  new Map(names.map((name, i) => [name, first + i]));

const SECOND: FieldKind = { low: 0, high: 59 };
const MINUTE: FieldKind = { low: 0, high: 59 };
const HOUR: FieldKind = { low: 0, high: 23 };
const MONTH_DAY: FieldKind = { low: 1, high: 31 };
const MONTH: FieldKind = {
  low: 1,
  high: 12,
  aliases: aliasMap(['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'], 1),
};
const WEEKDAY: FieldKind = { low: 0, high: 6, aliases: aliasMap(['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'], 0) };

/**
 * The values a field allows. `wildcard` records that some item was "*" or "?" without a step above one: Dapr's
 * matcher then requires both day fields to match instead of either.
 */
interface ValueSet {
  readonly allows: readonly boolean[];
  readonly wildcard: boolean;
}

class ValueSetBuilder {
  private readonly allows: boolean[];
  private wildcard = false;

  constructor(kind: FieldKind) {
    this.allows = new Array<boolean>(kind.high + 1).fill(false);
  }

  addStepped(from: number, to: number, step: number): this {
    for (let v = from; v <= to; v += step) this.allows[v] = true;
    return this;
  }

  markWildcard(): this {
    this.wildcard = true;
    return this;
  }

  build(): ValueSet {
    return { allows: this.allows, wildcard: this.wildcard };
  }
}

const only = (kind: FieldKind, value: number): ValueSet => new ValueSetBuilder(kind).addStepped(value, value, 1).build();
const every = (kind: FieldKind): ValueSet =>
  new ValueSetBuilder(kind).addStepped(kind.low, kind.high, 1).markWildcard().build();

/** A non-negative decimal, with strconv.Atoi's error text wrapped the way Dapr wraps it. */
function readNumber(text: string): bigint {
  let value: bigint;
  try {
    value = goAtoi(text);
  } catch (err) {
    return fail(`failed to parse int from ${text}: ${(err as Error).message}`);
  }
  if (value < 0n) fail(`negative number (${value}) not allowed: ${text}`);
  return value;
}

function readBound(text: string, kind: FieldKind): bigint {
  const alias = kind.aliases?.get(text.toLowerCase());
  return alias === undefined ? readNumber(text) : BigInt(alias);
}

/** One comma-separated item: ("*" | "?" | bound ["-" bound]) ["/" step]. Checks run in the order Dapr's do. */
function addItem(item: string, kind: FieldKind, into: ValueSetBuilder): void {
  const slashParts = item.split('/');
  const dashParts = (slashParts[0] as string).split('-');
  const head = dashParts[0] as string;
  // Dapr's parser looks no further than the first piece once it sees a wildcard ("*-3" is just "*").
  const isWildcard = head === '*' || head === '?';

  let from: bigint;
  let to: bigint;
  if (isWildcard) {
    from = BigInt(kind.low);
    to = BigInt(kind.high);
  } else {
    from = readBound(head, kind);
    if (dashParts.length > 2) fail(`too many hyphens: ${item}`);
    to = dashParts.length === 2 ? readBound(dashParts[1] as string, kind) : from;
  }

  let step = 1n;
  if (slashParts.length > 2) fail(`too many slashes: ${item}`);
  if (slashParts.length === 2) {
    step = readNumber(slashParts[1] as string);
    // A lone start with a step runs to the top of the field ("5/15" = "5-59/15").
    if (dashParts.length === 1) to = BigInt(kind.high);
  }

  if (from < BigInt(kind.low)) fail(`beginning of range (${from}) below minimum (${kind.low}): ${item}`);
  if (to > BigInt(kind.high)) fail(`end of range (${to}) above maximum (${kind.high}): ${item}`);
  if (from > to) fail(`beginning of range (${from}) beyond end of range (${to}): ${item}`);
  if (step === 0n) fail(`step of range should be a positive number: ${item}`);

  into.addStepped(Number(from), Number(to), Number(step));
  if (isWildcard && step === 1n) into.markWildcard();
}

/** A whole field; empty items between commas are ignored, as Dapr's strings.FieldsFunc split does. */
function parseField(text: string, kind: FieldKind): ValueSet {
  const builder = new ValueSetBuilder(kind);
  for (const item of text.split(',')) if (item !== '') addItem(item, kind, builder);
  return builder.build();
}

// ---------------------------------------------------------------------------------------------------------------
// Searching for the next match

interface CalendarPattern {
  second: ValueSet;
  minute: ValueSet;
  hour: ValueSet;
  monthDay: ValueSet;
  month: ValueSet;
  weekday: ValueSet;
}

const allowed = (set: ValueSet, value: number): boolean => set.allows[value] === true;

function dayAllowed(p: CalendarPattern, c: CivilTime): boolean {
  const byDate = allowed(p.monthDay, c.day);
  const byWeekday = allowed(p.weekday, c.weekday);
  return p.monthDay.wildcard || p.weekday.wildcard ? byDate && byWeekday : byDate || byWeekday;
}

/** The moving point of a search: a Unix second, read as wall-clock time in the schedule's zone. */
class Cursor {
  /** Lower units are zeroed once, the first time any unit has to move. */
  private zeroed = false;

  constructor(
    readonly zone: Zone,
    public unix: number,
  ) {}

  get wall(): CivilTime {
    return civilIn(this.zone, this.unix);
  }

  zeroBelow(zero: (c: Cursor) => number): void {
    if (this.zeroed) return;
    this.zeroed = true;
    this.unix = zero(this);
  }
}

/** One calendar unit of the search. */
interface Unit {
  fits(p: CalendarPattern, c: CivilTime): boolean;
  /** The cursor with this unit kept and everything smaller zeroed. */
  zero(c: Cursor): number;
  /** One unit later. */
  advance(c: Cursor): number;
  /** Whether advancing carried into the next larger unit. */
  carried(c: CivilTime): boolean;
}

const wallDate = (c: Cursor, dMonth: number, dDay: number): number => {
  const w = c.wall;
  return goDate(c.zone, w.year, w.month + dMonth, w.day + dDay, w.hour, w.minute, w.second);
};

/**
 * Pulls a day step that landed off midnight (a DST change in between) back to the nearest midnight, by whole hours,
 * as Dapr's spec.go does.
 */
function backToMidnight(c: Cursor): number {
  const hour = c.wall.hour;
  if (hour === 0) return c.unix;
  return hour > 12 ? c.unix + (24 - hour) * 3600 : c.unix - hour * 3600;
}

// Hours, minutes and seconds advance on the absolute clock, days and months on the wall clock (Dapr's behaviour
// across DST changes, which the reference vectors pin down).
const UNITS: readonly Unit[] = [
  {
    fits: (p, c) => allowed(p.month, c.month),
    zero: (c) => goDate(c.zone, c.wall.year, c.wall.month, 1, 0, 0, 0),
    advance: (c) => wallDate(c, 1, 0),
    carried: (c) => c.month === 1,
  },
  {
    fits: dayAllowed,
    zero: (c) => {
      const w = c.wall;
      return goDate(c.zone, w.year, w.month, w.day, 0, 0, 0);
    },
    advance: (c) => {
      c.unix = wallDate(c, 0, 1);
      return backToMidnight(c);
    },
    carried: (c) => c.day === 1,
  },
  {
    fits: (p, c) => allowed(p.hour, c.hour),
    zero: (c) => {
      const w = c.wall;
      return goDate(c.zone, w.year, w.month, w.day, w.hour, 0, 0);
    },
    advance: (c) => c.unix + 3600,
    carried: (c) => c.hour === 0,
  },
  {
    fits: (p, c) => allowed(p.minute, c.minute),
    zero: (c) => c.unix - (((c.unix % 60) + 60) % 60), // truncates absolute time, not the wall clock
    advance: (c) => c.unix + 60,
    carried: (c) => c.minute === 0,
  },
  {
    fits: (p, c) => allowed(p.second, c.second),
    zero: (c) => c.unix,
    advance: (c) => c.unix + 1,
    carried: (c) => c.second === 0,
  },
];

/** Moves the cursor until `unit` fits; false if it carried into a larger unit, which must then be re-checked. */
function settle(unit: Unit, p: CalendarPattern, cursor: Cursor): boolean {
  while (!unit.fits(p, cursor.wall)) {
    cursor.zeroBelow(unit.zero);
    cursor.unix = unit.advance(cursor);
    if (unit.carried(cursor.wall)) return false;
  }
  return true;
}

/** Dapr's search gives up after this many years and answers Go's zero time. */
const SEARCH_YEARS = 5;

class CalendarSchedule implements CronSchedule {
  /** Zone is UTC without a TZ= prefix: "Local" is the time's own zone and the scheduler works in UTC (SCHEDULES.md). */
  constructor(
    private readonly pattern: CalendarPattern,
    private readonly zone: Zone,
  ) {}

  next(after: Instant): Instant {
    const cursor = new Cursor(this.zone, splitInstant(after).sec + 1);
    const lastYear = cursor.wall.year + SEARCH_YEARS;
    while (cursor.wall.year <= lastYear) {
      if (UNITS.every((unit) => settle(unit, this.pattern, cursor))) return joinInstant(cursor.unix, 0);
    }
    return GO_ZERO_TIME;
  }
}

/** "@every <d>": the previous time plus d, unrounded; Dapr accepts zero and negative d. */
class FixedIntervalSchedule implements CronSchedule {
  constructor(readonly delayNs: bigint) {}

  next(after: Instant): Instant {
    return after + this.delayNs;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Whole specs

/** Zone lookup standing in for Go's time.LoadLocation, with ICU's database in place of zoneinfo files. */
function zoneNamed(name: string): Zone {
  if (name === '' || name === 'UTC' || name === 'Local') return UTC;
  if (name.startsWith('/') || name.startsWith('\\') || name.includes('..')) throw new Error('time: invalid location name');
  try {
    return ianaZone(name);
  } catch {
    throw new Error(`unknown time zone ${name}`);
  }
}

function midnightPattern(overrides: Partial<CalendarPattern>): CalendarPattern {
  return {
    second: only(SECOND, 0),
    minute: only(MINUTE, 0),
    hour: only(HOUR, 0),
    monthDay: every(MONTH_DAY),
    month: every(MONTH),
    weekday: every(WEEKDAY),
    ...overrides,
  };
}

const DESCRIPTORS: ReadonlyMap<string, () => CalendarPattern> = new Map([
  ['@yearly', () => midnightPattern({ monthDay: only(MONTH_DAY, 1), month: only(MONTH, 1) })],
  ['@annually', () => midnightPattern({ monthDay: only(MONTH_DAY, 1), month: only(MONTH, 1) })],
  ['@monthly', () => midnightPattern({ monthDay: only(MONTH_DAY, 1) })],
  ['@weekly', () => midnightPattern({ weekday: only(WEEKDAY, 0) })],
  ['@daily', () => midnightPattern({})],
  ['@midnight', () => midnightPattern({})],
  ['@hourly', () => midnightPattern({ hour: every(HOUR) })],
]);

const EVERY_PREFIX = '@every ';

function fromDescriptor(text: string, zone: Zone): CronSchedule {
  const pattern = DESCRIPTORS.get(text);
  if (pattern !== undefined) return new CalendarSchedule(pattern(), zone);
  if (!text.startsWith(EVERY_PREFIX)) fail(`unrecognized descriptor: ${text}`);
  let delayNs: bigint;
  try {
    delayNs = parseGoDurationNs(text.slice(EVERY_PREFIX.length));
  } catch (err) {
    return fail(`failed to parse duration ${text}: ${(err as Error).message}`);
  }
  return new FixedIntervalSchedule(delayNs);
}

/** Splits off a "TZ=" / "CRON_TZ=" prefix; the zone name runs to the first ASCII space. */
function takeZone(spec: string): { zone: Zone; rest: string } {
  if (!spec.startsWith('TZ=') && !spec.startsWith('CRON_TZ=')) return { zone: UTC, rest: spec };
  const nameStart = spec.indexOf('=') + 1;
  const space = spec.indexOf(' ');
  if (space < 0) {
    // Dapr's scheduler panics on this input (a slice out of range); we refuse it instead.
    fail(`provided bad location ${spec.slice(nameStart)}: missing schedule after the time zone`);
  }
  const name = spec.slice(nameStart, space);
  let zone: Zone;
  try {
    zone = zoneNamed(name);
  } catch (err) {
    return fail(`provided bad location ${name}: ${(err as Error).message}`);
  }
  return { zone, rest: goTrimSpace(spec.slice(space)) };
}

/** Parses a schedule the way Dapr's scheduler does; throws CronParseError with Dapr's message. */
export function parseCron(input: string): CronSchedule {
  if (input === '') fail('empty spec string');
  const { zone, rest } = takeZone(input);
  if (rest.startsWith('@')) return fromDescriptor(rest, zone);

  const fields = goFields(rest);
  if (fields.length !== 6) fail(`expected exactly 6 fields, found ${fields.length}: ${goStringSlice(fields)}`);
  const [second, minute, hour, monthDay, month, weekday] = fields as [string, string, string, string, string, string];
  return new CalendarSchedule(
    {
      second: parseField(second, SECOND),
      minute: parseField(minute, MINUTE),
      hour: parseField(hour, HOUR),
      monthDay: parseField(monthDay, MONTH_DAY),
      month: parseField(month, MONTH),
      weekday: parseField(weekday, WEEKDAY),
    },
    zone,
  );
}
