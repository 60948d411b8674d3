import { CallerAuthorisation, parseAccountList, ServiceAccountMatcher } from './callerAuthorisation.js';

describe('CallerAuthorisation', () => {
  const authorisation = new CallerAuthorisation(new ServiceAccountMatcher('ci:deployer,team-*:builder-*'));
  authorisation.setAllowedUids(['uid-rs-controller']);

  it.each([
    ['a controller whose service-account UID was looked up', { username: 'system:serviceaccount:kube-system:replicaset-controller', uid: 'uid-rs-controller' }, true],
    ['a member of system:masters', { username: 'admin', groups: ['system:masters'] }, true],
    ['an exact ALLOWED_SERVICE_ACCOUNTS_PREFIX_NAMES pair', { username: 'system:serviceaccount:ci:deployer' }, true],
    ['a prefix pair', { username: 'system:serviceaccount:team-a:builder-7' }, true],
    ['a service account outside the patterns', { username: 'system:serviceaccount:team-a:intruder' }, false],
    ['a user claiming a controller name without its UID', { username: 'system:serviceaccount:kube-system:replicaset-controller', uid: 'other' }, false],
    ['a plain user', { username: 'jane', groups: ['system:authenticated'] }, false],
    ['no user info', undefined, false],
  ])('%s → %s', (_what, user, allowed) => {
    expect(authorisation.isAllowed(user)).toBe(allowed);
  });

  it('bumps its version only when the allowed UIDs change', () => {
    const a = new CallerAuthorisation(new ServiceAccountMatcher(''));
    a.setAllowedUids(['x']);
    const v = a.version;
    a.setAllowedUids(['x']);
    expect(a.version).toBe(v);
    a.setAllowedUids(['x', 'y']);
    expect(a.version).toBe(v + 1);
  });
});

describe('ServiceAccountMatcher', () => {
  describe('when the text is malformed', () => {
    it.each([
      ['no-colon', 'not of the form namespace:serviceaccount'],
      ['a:b:c', 'not of the form namespace:serviceaccount'],
      ['*:*', 'would allow every service account'],
      ['a*b:c', 'only as the last character'],
      [':', 'names neither'],
    ])('refuses %j', (text, message) => {
      expect(() => new ServiceAccountMatcher(text)).toThrow(message);
    });
  });
});

describe('parseAccountList', () => {
  it('reads ns:name pairs and names a bad entry', () => {
    expect(parseAccountList(' a:b , c:d ', 'ALLOWED_SERVICE_ACCOUNTS')).toEqual([
      { namespace: 'a', name: 'b' },
      { namespace: 'c', name: 'd' },
    ]);
    expect(() => parseAccountList('a:b,oops', 'ALLOWED_SERVICE_ACCOUNTS')).toThrow('ALLOWED_SERVICE_ACCOUNTS: "oops" is not of the form');
  });
});
