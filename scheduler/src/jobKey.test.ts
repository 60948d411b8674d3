import { describeKey, jobKey, keyProblem, targetOf, targetPrefix } from './jobKey.js';

describe('job keys', () => {
  const job = targetOf({ namespace: 'ns', appId: 'app', target: { job: {} } });
  const actor = targetOf({ namespace: 'ns', appId: 'app', target: { actor: { type: 'T', id: 'a1' } } });
  const anyActor = targetOf({ namespace: 'ns', appId: 'app', target: { actor: { type: 'T', id: '' } } });

  it('are Dapr’s: app jobs by app, reminders by actor and without the app id', () => {
    expect(jobKey(job, 'nightly')).toBe('app||ns||app||nightly');
    expect(jobKey(actor, 'wake')).toBe('actorreminder||ns||T||a1||wake');
  });

  it('select a target’s jobs by prefix, the last segment as a prefix too when not exact', () => {
    expect(targetPrefix(job)).toBe('app||ns||app||');
    expect(targetPrefix(job, false)).toBe('app||ns||app');
    expect(targetPrefix(actor)).toBe('actorreminder||ns||T||a1||');
    expect(targetPrefix(anyActor)).toBe('actorreminder||ns||T||');
    expect(targetPrefix(anyActor, false)).toBe('actorreminder||ns||T');
  });

  it('give back the name and the metadata Dapr rebuilds from them', () => {
    expect(describeKey('app||ns||app||a||b')).toEqual({ name: 'b', metadata: { appId: 'app', namespace: 'ns', target: { job: {} } } });
    expect(describeKey('actorreminder||ns||T||a1||wake')).toEqual({ name: 'wake', metadata: { appId: '', namespace: 'ns', target: { actor: { type: 'T', id: 'a1' } } } });
    expect(() => describeKey('nonsense')).toThrow(/failed to parse job metadata/);
  });

  it('refuse a metadata without a target', () => {
    expect(() => targetOf({ namespace: 'ns', appId: 'app' })).toThrow(/unknown job type/);
  });

  it.each([
    ['app||ns||my_app||Job-1 2:3', undefined],
    ['app||ns||app||UPPER', undefined],
    ['app||ns||app||a/b', /^job name is invalid "app\|\|ns\|\|app\|\|a\/b": a lowercase RFC 1123 subdomain/],
    ['app||ns||app||', /^job name is invalid/],
    [`app||ns||app||${'x'.repeat(254)}`, /must be no more than 253 characters/],
    ['', /^job name cannot be empty$/],
  ])('validates %j as go-etcd-cron does', (key, problem) => {
    if (problem === undefined) expect(keyProblem(key)).toBeUndefined();
    else expect(keyProblem(key)).toMatch(problem);
  });
});
