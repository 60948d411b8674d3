// Where a job lives in the job space: its key, built from the caller's JobMetadata and the job name, and the
// prefixes that select a target's jobs (docs/scheduler-spec.md §3.4–3.6, §4; Dapr
// pkg/scheduler/server/internal/serialize). Keys are `||`-joined:
//   app job        app||<namespace>||<app id>||<name>
//   actor reminder actorreminder||<namespace>||<actor type>||<actor id>||<name>   (no app id: unique per actor)
// A key is also the job's etcd key below `dapr/jobs/`, so it is validated as go-etcd-cron validates names.
import type { JobMetadata } from './proto.js';
import { unknown } from './errors.js';

const separator = '||';

export type JobTarget = { kind: 'job'; namespace: string; appId: string } | { kind: 'actor'; namespace: string; actorType: string; actorId: string };

/** The target a request names; Unknown "unknown job type" when it names none (as Dapr). */
export function targetOf(metadata: JobMetadata | undefined): JobTarget {
  const namespace = metadata?.namespace ?? '';
  const target = metadata?.target;
  if (target?.actor) return { kind: 'actor', namespace, actorType: target.actor.type ?? '', actorId: target.actor.id ?? '' };
  if (target?.job) return { kind: 'job', namespace, appId: metadata?.appId ?? '' };
  throw unknown('unknown job type: <nil>');
}

/** The job's full key. */
export function jobKey(target: JobTarget, name: string): string {
  return target.kind === 'job'
    ? ['app', target.namespace, target.appId, name].join(separator)
    : ['actorreminder', target.namespace, target.actorType, target.actorId, name].join(separator);
}

/**
 * The key prefix of a target's jobs. `exact` ends it with the separator (ListJobs, DeleteByNamePrefix); without it
 * the last segment matches as a prefix too (DeleteByMetadata with id_prefix_match: `app||ns||app` also selects
 * app ids that start with `app`). An actor target without an id selects every actor of the type.
 */
export function targetPrefix(target: JobTarget, exact = true): string {
  const segments =
    target.kind === 'job'
      ? ['app', target.namespace, target.appId]
      : ['actorreminder', target.namespace, target.actorType, ...(target.actorId ? [target.actorId] : [])];
  return segments.join(separator) + (exact ? separator : '');
}

/** The prefixes a stream accepting these targets can be delivered (WatchJobs initial). */
export function appPrefix(namespace: string, appId: string): string {
  return ['app', namespace, appId, ''].join(separator);
}
export function actorTypePrefix(namespace: string, actorType: string): string {
  return ['actorreminder', namespace, actorType, ''].join(separator);
}

/** A namespace's whole job space (namespace deletion). */
export function namespacePrefixes(namespace: string): string[] {
  return [['actorreminder', namespace, ''].join(separator), ['app', namespace, ''].join(separator)];
}

/** ListJobs: the name (after the last separator) and the metadata rebuilt from the key, as Dapr does. */
export function describeKey(key: string): { name: string; metadata: JobMetadata } {
  const segments = key.split(separator);
  if (segments[0] === 'app' && segments.length >= 4) {
    return { name: segments[segments.length - 1]!, metadata: { appId: segments[2], namespace: segments[1], target: { job: {} } } };
  }
  if (segments[0] === 'actorreminder' && segments.length >= 5) {
    return {
      name: segments[segments.length - 1]!,
      metadata: { appId: '', namespace: segments[1], target: { actor: { type: segments[2], id: segments[3] } } },
    };
  }
  throw unknown(`failed to parse job metadata: unrecognised job key ${JSON.stringify(key)}`);
}

const maxSegmentLength = 253;
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * go-etcd-cron's job-name rule: with `_ : -` and spaces removed and the text lower-cased, each `||` segment must be
 * an RFC 1123 subdomain. Returns the error text, Dapr's, or undefined when the key is valid.
 */
export function keyProblem(key: string): string | undefined {
  if (key.length === 0) return 'job name cannot be empty';
  const sanitized = key.replace(/[_: -]/g, '');
  for (const segment of sanitized.toLowerCase().split(separator)) {
    const problems: string[] = [];
    if (segment.length > maxSegmentLength) problems.push(`must be no more than ${maxSegmentLength} characters`);
    if (!dns1123Subdomain.test(segment)) {
      problems.push(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      );
    }
    if (problems.length > 0) return `job name is invalid ${JSON.stringify(sanitized)}: ${problems.join(', ')}`;
  }
  return undefined;
}

export function checkKey(key: string): void {
  const problem = keyProblem(key);
  if (problem) throw unknown(problem);
}
