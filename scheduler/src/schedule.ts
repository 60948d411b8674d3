// A scheduler job's timing: whether Dapr 1.17 accepts it, and when it triggers. Facts (checks, their order and texts,
// the point-in-time formats, which triggers end a job) come from github.com/diagridio/go-etcd-cron@v0.12.4
// internal/scheduler/builder.go, repeats.go, oneshot.go and internal/counter/counter.go; ../SCHEDULES.md has them
// in prose. The cron grammar is in cron.ts, the timeline itself in timeline.ts.
//
// Design: validation is a table of checks on the raw fields followed by parsing each field in turn; what survives is
// a Timeline value, and JobSchedule answers trigger questions from it and the caller's running count.

import { addDateUTC, type Instant } from './civil.js';
import { type CronSchedule, parseCron } from './cron.js';
import { parseGoDurationNs } from './goDuration.js';
import { type IsoDuration, parseIsoDuration } from './isoDuration.js';
import { parseGoRFC3339 } from './rfc3339.js';
import { Timeline } from './timeline.js';

/** The timing part of a scheduler Job (dapr.proto.scheduler.v1.Job); undefined = field not set. */
export interface JobTiming {
  schedule?: string | undefined;
  dueTime?: string | undefined;
  ttl?: string | undefined;
  /** uint32 */
  repeats?: number | undefined;
}

export type JobTimingField = 'schedule' | 'dueTime' | 'ttl' | 'repeats';

/**
 * A job Dapr's scheduler refuses. `message` is Dapr's text and `grpcMessage` the whole status message its ScheduleJob
 * returns; `field` names the offending field so the edge can report InvalidArgument on it.
 */
export class JobValidationError extends Error {
  constructor(
    readonly field: JobTimingField,
    message: string,
  ) {
    super(message);
    this.name = 'JobValidationError';
  }

  get grpcMessage(): string {
    return `job failed validation: ${this.message}`;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Points in time (dueTime, ttl)

class PointInTimeError extends Error {}

/**
 * An absolute time, or a duration after `base`. Dapr tries RFC 3339 first, then a Go duration, then ISO 8601, and
 * only the last one's failure is reported.
 */
export function parsePointInTime(text: string, base: Instant): Instant {
  return parseGoRFC3339(text) ?? afterGoDuration(text, base) ?? afterIsoDuration(text, base);
}

function afterGoDuration(text: string, base: Instant): Instant | undefined {
  try {
    return base + parseGoDurationNs(text);
  } catch {
    return undefined;
  }
}

function afterIsoDuration(text: string, base: Instant): Instant {
  let duration: IsoDuration;
  try {
    duration = parseIsoDuration(text);
  } catch {
    throw new PointInTimeError('due time format not recognized');
  }
  // A point in time happens once; "R0/" and "R-1/" still pass because Dapr only refuses a positive count.
  if (duration.repetition > 0) throw new PointInTimeError('repeats not supported for due time');
  return addDateUTC(base, duration.years, duration.months, duration.days) + duration.durationNs;
}

// ---------------------------------------------------------------------------------------------------------------
// Validation

interface FieldCheck {
  readonly field: JobTimingField;
  readonly message: string;
  readonly refuses: (job: JobTiming) => boolean;
}

/** Dapr's checks on the raw fields, in Dapr's order: a job gets the first failure's message. */
const FIELD_CHECKS: readonly FieldCheck[] = [
  {
    field: 'schedule',
    message: 'job must have either a due time or a schedule',
    refuses: (job) => job.dueTime === undefined && job.schedule === undefined,
  },
  {
    field: 'repeats',
    message: 'job must have a schedule to repeat',
    refuses: (job) => job.schedule === undefined && (job.repeats ?? 0) > 1,
  },
  {
    field: 'repeats',
    message: 'defined repeats must be greater than 0',
    refuses: (job) => job.repeats !== undefined && job.repeats < 1,
  },
  {
    field: 'ttl',
    message: 'job must have a schedule to have a ttl',
    refuses: (job) => job.schedule === undefined && job.ttl !== undefined,
  },
];

const isUint32 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;

function checkFields(job: JobTiming): void {
  // The proto type makes this impossible in Dapr; callers that build a JobTiming from JSON can send anything.
  if (job.repeats !== undefined && !isUint32(job.repeats)) {
    throw new JobValidationError('repeats', `repeats must be an unsigned 32-bit integer, got ${job.repeats}`);
  }
  const failed = FIELD_CHECKS.find((check) => check.refuses(job));
  if (failed !== undefined) throw new JobValidationError(failed.field, failed.message);
}

/** Runs `parse`, reporting any failure against `field`, with `message` or else the parser's own text. */
function parseField<T>(field: JobTimingField, parse: () => T, message?: string): T {
  try {
    return parse();
  } catch (err) {
    throw new JobValidationError(field, message ?? (err as Error).message);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Schedules

/** Where a job's clock starts: its creation time, or its due time when it has one. Relative ttls count from here. */
export type JobBegin = { kind: 'start'; at: Instant } | { kind: 'dueTime'; at: Instant };

export class JobSchedule {
  /** The latest trigger time (inclusive), from the ttl; undefined without one. */
  readonly expiration: Instant | undefined;

  private constructor(
    readonly begin: JobBegin,
    readonly repeats: number | undefined,
    readonly timeline: Timeline,
  ) {
    this.expiration = timeline.endsAt;
  }

  /**
   * Accepts or refuses `job` as Dapr's scheduler would (same checks, order and messages) and fixes its timeline,
   * measuring relative times from `now`, the creation time. Throws JobValidationError.
   */
  static parse(job: JobTiming, now: Instant): JobSchedule {
    checkFields(job);
    const { schedule, dueTime, ttl, repeats } = job;
    const cadence = schedule === undefined ? undefined : parseField('schedule', () => parseCron(schedule));
    const begin: JobBegin =
      dueTime === undefined
        ? { kind: 'start', at: now }
        : { kind: 'dueTime', at: parseField('dueTime', () => parsePointInTime(dueTime, now)) };
    const expiration =
      ttl === undefined ? undefined : parseField('ttl', () => parsePointInTime(ttl, begin.at), 'ttl format not recognized');
    // Only a due time is held to the ttl; without one an expiration already past is accepted and the job never fires.
    if (expiration !== undefined && begin.kind === 'dueTime' && begin.at > expiration) {
      throw new JobValidationError('ttl', 'ttl must be greater than due time');
    }
    return new JobSchedule(begin, repeats, timelineOf(begin, cadence, repeats, expiration));
  }

  /** True for a job with a due time and no schedule: it triggers once. */
  get oneShot(): boolean {
    return this.timeline.cadence === undefined;
  }

  /**
   * The trigger that follows `count` triggers, the last of them scheduled at `last` (undefined before the first);
   * undefined when the repeats are used up or the schedule runs past the expiration. The first trigger is returned
   * even when it is already past the expiration: deciding to drop the job is `upcoming`'s business.
   */
  next(count: number, last: Instant | undefined): Instant | undefined {
    const { timeline } = this;
    if (timeline.exhaustedBy(count)) return undefined;
    // A one-shot job goes by its count alone, so it has its due time until it has triggered.
    if (last === undefined || this.oneShot) return timeline.first;
    return timeline.after(last);
  }

  /**
   * When the scheduler queues the job after `count` successful triggers (the last scheduled at `last`), or undefined
   * when it deletes the job instead.
   */
  upcoming(count: number, last: Instant | undefined): Instant | undefined {
    const next = this.next(count, last);
    return next !== undefined && this.timeline.includes(next) ? next : undefined;
  }

  /** The first `limit` trigger times (fewer if the job ends), each trigger taken as successful. */
  triggers(limit: number): Instant[] {
    const out: Instant[] = [];
    let last: Instant | undefined;
    while (out.length < limit) {
      const next = this.upcoming(out.length, last);
      if (next === undefined) break;
      out.push(next);
      // The scheduler counts from the time a trigger was scheduled for, not the time it was delivered.
      last = next;
    }
    return out;
  }
}

/**
 * A scheduled job starts at its due time, which need not match the schedule, or else at the schedule's first time
 * after creation. A one-shot job has no repeats above 1 (FIELD_CHECKS) and no ttl, so it needs neither.
 */
function timelineOf(
  begin: JobBegin,
  cadence: CronSchedule | undefined,
  repeats: number | undefined,
  expiration: Instant | undefined,
): Timeline {
  if (cadence === undefined) return Timeline.once(begin.at);
  const first = begin.kind === 'dueTime' ? begin.at : cadence.next(begin.at);
  return new Timeline(first, cadence, repeats, expiration);
}
