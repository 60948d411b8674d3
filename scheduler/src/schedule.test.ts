import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { formatRFC3339Nano, GO_ZERO_TIME, instantFromDate, instantToDate, type Instant } from './civil.js';
import { CronParseError, parseCron } from './cron.js';
import { parseGoDurationNs } from './goDuration.js';
import { parseGoRFC3339 } from './rfc3339.js';
import { JobSchedule, type JobTiming, JobValidationError, parsePointInTime } from './schedule.js';

// Vectors printed by scheduler/testdata/gen (Dapr v1.17.5's go-etcd-cron v0.12.4 + dapr/kit v0.17.0).
interface CronVector {
  spec: string;
  from: string;
  next?: string[];
  error?: string;
  panic?: string;
}
interface JobVector {
  comment?: string;
  now: string;
  job: JobTiming;
  error?: string;
  begin?: 'start' | 'dueTime';
  beginAt?: string;
  expiration?: string;
  triggers?: string[];
  ended: boolean;
}
interface Vectors {
  triggersPerCase: number;
  cron: CronVector[];
  jobs: JobVector[];
}

const vectors = JSON.parse(
  readFileSync(fileURLToPath(new URL('../testdata/schedules.json', import.meta.url)), 'utf8'),
) as Vectors;

const at = (text: string): Instant => {
  const t = parseGoRFC3339(text);
  if (t === undefined) throw new Error(`bad vector time ${text}`);
  return t;
};

describe('cron schedules (dapr/kit cron, scheduler options) against Dapr vectors', () => {
  it.each(vectors.cron.map((v) => [`${JSON.stringify(v.spec)} from ${v.from}`, v] as const))('%s', (_, v) => {
    if (v.error !== undefined || v.panic !== undefined) {
      let thrown: unknown;
      try {
        parseCron(v.spec);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(CronParseError);
      // Dapr panics on "TZ=<zone>" with nothing after it; tapr refuses it instead.
      if (v.error !== undefined) expect((thrown as Error).message).toBe(v.error);
      return;
    }
    const schedule = parseCron(v.spec);
    const got: string[] = [];
    let t = at(v.from);
    for (let i = 0; i < (v.next ?? []).length; i++) {
      t = schedule.next(t);
      got.push(formatRFC3339Nano(t));
    }
    expect(got).toEqual(v.next);
  });
});

describe('job trigger times (go-etcd-cron Builder + counter) against Dapr vectors', () => {
  it.each(
    vectors.jobs.map((v) => [`${JSON.stringify(v.job)} at ${v.now}${v.comment ? ` (${v.comment})` : ''}`, v] as const),
  )('%s', (_, v) => {
    if (v.error !== undefined) {
      expect(() => JobSchedule.parse(v.job, at(v.now))).toThrow(JobValidationError);
      expect(() => JobSchedule.parse(v.job, at(v.now))).toThrow(v.error);
      return;
    }
    const job = JobSchedule.parse(v.job, at(v.now));
    expect(job.begin.kind).toBe(v.begin);
    expect(formatRFC3339Nano(job.begin.at)).toBe(v.beginAt);
    expect(job.expiration === undefined ? undefined : formatRFC3339Nano(job.expiration)).toBe(v.expiration);
    const triggers = job.triggers(vectors.triggersPerCase);
    expect(triggers.map(formatRFC3339Nano)).toEqual(v.triggers ?? []);
    expect(job.upcoming(triggers.length, triggers.at(-1)) === undefined).toBe(v.ended);
  });

  it('covers every form the brief lists', () => {
    expect(vectors.cron.length + vectors.jobs.length).toBeGreaterThanOrEqual(60);
  });
});

describe('errors name the field', () => {
  const now = at('2026-01-31T23:59:58Z');
  const fieldOf = (job: JobTiming): [string, string, string] => {
    try {
      JobSchedule.parse(job, now);
    } catch (err) {
      if (err instanceof JobValidationError) return [err.field, err.message, err.grpcMessage];
      throw err;
    }
    throw new Error('accepted');
  };

  it.each<[JobTiming, string, string]>([
    [{}, 'schedule', 'job must have either a due time or a schedule'],
    [{ schedule: '* * * * *' }, 'schedule', 'expected exactly 6 fields, found 5: [* * * * *]'],
    [{ schedule: '@every 1d' }, 'schedule', 'failed to parse duration @every 1d: time: unknown unit "d" in duration "1d"'],
    [{ dueTime: 'soon' }, 'dueTime', 'due time format not recognized'],
    [{ dueTime: 'R3/PT1S' }, 'dueTime', 'repeats not supported for due time'],
    [{ dueTime: '1s', repeats: 2 }, 'repeats', 'job must have a schedule to repeat'],
    [{ schedule: '@daily', repeats: 0 }, 'repeats', 'defined repeats must be greater than 0'],
    [{ schedule: '@daily', repeats: 1.5 }, 'repeats', 'repeats must be an unsigned 32-bit integer, got 1.5'],
    [{ dueTime: '1s', ttl: '1h' }, 'ttl', 'job must have a schedule to have a ttl'],
    [{ schedule: '@daily', ttl: 'forever' }, 'ttl', 'ttl format not recognized'],
    [{ schedule: '@daily', dueTime: '1h', ttl: '-1s' }, 'ttl', 'ttl must be greater than due time'],
    [{ schedule: 'TZ=Europe/Paris' }, 'schedule', 'provided bad location Europe/Paris: missing schedule after the time zone'],
  ])('%j → %s', (job, field, message) => {
    expect(fieldOf(job)).toEqual([field, message, `job failed validation: ${message}`]);
  });
});

describe('building blocks', () => {
  it('keeps nanoseconds that Dates cannot hold', () => {
    const t = at('2026-02-01T00:00:00.123456789Z');
    expect(formatRFC3339Nano(parseCron('@every 1ns').next(t))).toBe('2026-02-01T00:00:00.12345679Z');
    expect(instantToDate(t).toISOString()).toBe('2026-02-01T00:00:00.123Z');
    expect(instantFromDate(new Date('2026-02-01T00:00:00.123Z'))).toBe(t - 456_789n);
  });

  it('returns Go zero time when no day matches within five years', () => {
    expect(parseCron('0 0 0 30 2 *').next(at('2026-01-01T00:00:00Z'))).toBe(GO_ZERO_TIME);
    expect(formatRFC3339Nano(GO_ZERO_TIME)).toBe('0001-01-01T00:00:00Z');
  });

  it('parses Go durations exactly', () => {
    expect(parseGoDurationNs('1h30m0.5s')).toBe(5_400_500_000_000n);
    expect(parseGoDurationNs('-1.000000001s')).toBe(-1_000_000_001n);
    expect(() => parseGoDurationNs(' 1s')).toThrow('time: invalid duration " 1s"');
    expect(() => parseGoDurationNs('1µx')).toThrow('time: unknown unit "\\xc2\\xb5x" in duration "1\\xc2\\xb5x"');
  });

  it('measures relative due times and ttls from creation, and ttls from the due time when there is one', () => {
    const now = at('2026-01-31T23:59:58Z');
    expect(formatRFC3339Nano(parsePointInTime('P1M', now))).toBe('2026-03-03T23:59:58Z');
    const job = JobSchedule.parse({ schedule: '@every 10s', dueTime: '1m', ttl: '30s' }, now);
    expect(formatRFC3339Nano(job.expiration as Instant)).toBe('2026-02-01T00:01:28Z');
  });
});
