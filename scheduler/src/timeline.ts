// When a job triggers, fixed once at creation: its first trigger, the cadence after it, and what ends it.
// Facts from github.com/diagridio/go-etcd-cron@v0.12.4 internal/scheduler (repeats.go, oneshot.go) and
// internal/counter/counter.go; see ../SCHEDULES.md.

import type { Instant } from './civil.js';
import type { CronSchedule } from './cron.js';

/**
 * A job's timeline as a value: nothing in it changes as the job triggers. The caller keeps the running state (how
 * many triggers so far, when the last one was scheduled) and asks the timeline what follows.
 */
export class Timeline {
  constructor(
    /**
     * The first trigger: the due time if there is one, else the cadence's first time after creation. It is not checked
     * against `endsAt` here; only callers that decide whether to keep the job do that (see `includes`).
     */
    readonly first: Instant,
    /** The schedule that follows the first trigger; undefined for a job that triggers once. */
    readonly cadence: CronSchedule | undefined,
    /** The most triggers the job may have; undefined for no limit. */
    readonly maxTriggers: number | undefined,
    /** The latest instant a trigger may fall on (inclusive); undefined for a job that never expires. */
    readonly endsAt: Instant | undefined,
  ) {}

  /** A job with a due time and no schedule. */
  static once(at: Instant): Timeline {
    return new Timeline(at, undefined, 1, undefined);
  }

  /** The trigger after the one at `previous`, or undefined when the job has no cadence or the next time is too late. */
  after(previous: Instant): Instant | undefined {
    if (this.cadence === undefined) return undefined;
    const next = this.cadence.next(previous);
    return this.includes(next) ? next : undefined;
  }

  /** Whether `triggered` triggers use up the job's allowance. */
  exhaustedBy(triggered: number): boolean {
    return this.maxTriggers !== undefined && triggered >= this.maxTriggers;
  }

  /** Whether `at` falls within the job's lifetime. */
  includes(at: Instant): boolean {
    return this.endsAt === undefined || at <= this.endsAt;
  }
}
