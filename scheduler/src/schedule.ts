// A job's trigger times as Dapr 1.17's scheduler computes them. Ports github.com/diagridio/go-etcd-cron@v0.12.4:
//   internal/scheduler/builder.go  Builder.Parse (validation, begin, expiration) and parsePointInTime
//   internal/scheduler/repeats.go  repeats.Next (schedule set)
//   internal/scheduler/oneshot.go  oneshot.Next (due time only)
//   internal/counter/counter.go    updateNext (repeats used up / no next / next after expiration → delete the job)
// The schedule grammar itself is in cron.ts. See ../SCHEDULES.md.

import { addDateUTC, type Instant } from './civil.js';
import { type CronSchedule, parseCron } from './cron.js';
import { parseGoDurationNs } from './goDuration.js';
import { parseIsoDuration } from './isoDuration.js';
import { parseGoRFC3339 } from './rfc3339.js';

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
 * A job Dapr's scheduler refuses. `message` is go-etcd-cron's text; Dapr's scheduler answers the ScheduleJob call
 * with `job failed validation: <message>` (see grpcMessage). `field` names the offending field for InvalidArgument.
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

class PointInTimeError extends Error {}

/** builder.go parsePointInTime: RFC 3339, else a Go duration after `now`, else an ISO 8601 duration after `now`. */
export function parsePointInTime(text: string, now: Instant): Instant {
  const t = parseGoRFC3339(text);
  if (t !== undefined) return t;
  try {
    return now + parseGoDurationNs(text);
  } catch {
    // fall through to ISO 8601
  }
  let iso;
  try {
    iso = parseIsoDuration(text);
  } catch {
    throw new PointInTimeError('due time format not recognized');
  }
  if (iso.repetition > 0) throw new PointInTimeError('repeats not supported for due time');
  return addDateUTC(now, iso.years, iso.months, iso.days) + iso.durationNs;
}

/** What Builder.Parse stores: the stored.Job's begin (start or dueTime) and expiration. */
export type JobBegin = { kind: 'start'; at: Instant } | { kind: 'dueTime'; at: Instant };

export class JobSchedule {
  private constructor(
    readonly begin: JobBegin,
    readonly expiration: Instant | undefined,
    readonly repeats: number | undefined,
    private readonly cron: CronSchedule | undefined,
  ) {}

  /**
   * Builder.Parse then Builder.Schedule: validates the job as the scheduler does (same checks, same order, same
   * messages) and fixes its begin and expiration against `now`, the creation time.
   */
  static parse(job: JobTiming, now: Instant): JobSchedule {
    const { schedule, dueTime, ttl, repeats } = job;
    if (repeats !== undefined && (!Number.isInteger(repeats) || repeats < 0 || repeats > 0xffffffff)) {
      throw new JobValidationError('repeats', `repeats must be an unsigned 32-bit integer, got ${repeats}`);
    }
    if (dueTime === undefined && schedule === undefined) {
      throw new JobValidationError('schedule', 'job must have either a due time or a schedule');
    }
    if (schedule === undefined && (repeats ?? 0) > 1) {
      throw new JobValidationError('repeats', 'job must have a schedule to repeat');
    }
    if (repeats !== undefined && repeats < 1) {
      throw new JobValidationError('repeats', 'defined repeats must be greater than 0');
    }
    if (schedule === undefined && ttl !== undefined) {
      throw new JobValidationError('ttl', 'job must have a schedule to have a ttl');
    }
    let cron: CronSchedule | undefined;
    if (schedule !== undefined) {
      try {
        cron = parseCron(schedule);
      } catch (err) {
        throw new JobValidationError('schedule', (err as Error).message);
      }
    }

    let begin: JobBegin = { kind: 'start', at: now };
    if (dueTime !== undefined) {
      try {
        begin = { kind: 'dueTime', at: parsePointInTime(dueTime, now) };
      } catch (err) {
        throw new JobValidationError('dueTime', (err as Error).message);
      }
    }

    let expiration: Instant | undefined;
    if (ttl !== undefined) {
      try {
        expiration = parsePointInTime(ttl, begin.at);
      } catch {
        throw new JobValidationError('ttl', 'ttl format not recognized');
      }
      if (begin.kind === 'dueTime' && begin.at > expiration) {
        throw new JobValidationError('ttl', 'ttl must be greater than due time');
      }
    }
    return new JobSchedule(begin, expiration, repeats, cron);
  }

  /** True for a job with a due time and no schedule: it triggers once. */
  get oneShot(): boolean {
    return this.cron === undefined;
  }

  /**
   * scheduler.Interface.Next: the trigger after `count` triggers, the last at `last` (undefined before the first).
   * Without a schedule: the due time once. With one: the due time first if set (it need not match the schedule),
   * else the schedule's first time after creation; then the schedule after `last`. Undefined = no more triggers from
   * the schedule itself (repeats used up, or past the expiration after the first trigger).
   */
  next(count: number, last: Instant | undefined): Instant | undefined {
    if (this.cron === undefined) return count >= 1 ? undefined : this.begin.at;
    if (this.repeats !== undefined && count >= this.repeats) return undefined;
    if (last === undefined) {
      if (this.begin.kind === 'dueTime') return this.begin.at;
      return this.cron.next(this.begin.at);
    }
    const next = this.cron.next(last);
    if (this.expiration !== undefined && next > this.expiration) return undefined;
    return next;
  }

  /**
   * counter.updateNext: the time the scheduler queues the job for after `count` successful triggers (the last one
   * scheduled at `last`), or undefined when it deletes the job instead. The expiration is inclusive.
   */
  upcoming(count: number, last: Instant | undefined): Instant | undefined {
    if (this.repeats !== undefined && count >= this.repeats) return undefined;
    const next = this.next(count, last);
    if (next === undefined) return undefined;
    if (this.expiration !== undefined && next > this.expiration) return undefined;
    return next;
  }

  /** The first `limit` trigger times (fewer if the job ends), each trigger taken as successful. */
  triggers(limit: number): Instant[] {
    const out: Instant[] = [];
    let last: Instant | undefined;
    for (let count = 0; out.length < limit; count++) {
      const next = this.upcoming(count, last);
      if (next === undefined) break;
      out.push(next);
      // TriggerSuccess: LastTrigger = Next(count, LastTrigger), i.e. the scheduled time, not the delivery time.
      last = next;
    }
    return out;
  }
}
