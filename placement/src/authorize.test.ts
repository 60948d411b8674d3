import { authorizeHost } from './authorize.js';
import { PlacementError } from './errors.js';
import { HostOperation } from './host.js';
import { report } from './fakes.js';

const caller = { trustDomain: 'public', namespace: 'default', appId: 'app' };
const mtls = { mtls: true, maxActorTypesPerHost: 3 };

function refusal(fn: () => void): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    if (error instanceof PlacementError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('authorizeHost', () => {
  it('accepts a well-formed report matching the caller', () => {
    expect(() => authorizeHost(report('10.0.0.1:50002', ['counter', 'dapr.internal.default.app.workflow']), caller, mtls)).not.toThrow();
  });

  it('accepts acks without a name (daprd sends none)', () => {
    expect(() => authorizeHost({ ...report('', []), operation: HostOperation.lock, version: 3 }, caller, mtls)).not.toThrow();
  });

  it.each([
    ['no caller identity under mTLS', report('h:1', []), undefined, 'unauthenticated'],
    ['a version without an operation', { ...report('h:1', []), operation: HostOperation.unknown, version: 1 }, caller, 'invalid-argument'],
    ['an unknown operation', { ...report('h:1', []), operation: 9 as HostOperation }, caller, 'invalid-argument'],
    ['no app ID', report('h:1', [], { id: '' }), caller, 'invalid-argument'],
    ['no namespace', report('h:1', [], { namespace: '' }), caller, 'invalid-argument'],
    ['another app ID', report('h:1', [], { id: 'other' }), caller, 'permission-denied'],
    ['another namespace', report('h:1', [], { namespace: 'other' }), caller, 'permission-denied'],
    ['no name on a report', report('', ['counter']), caller, 'invalid-argument'],
    ['too many actor types', report('h:1', ['a', 'b', 'c', 'd']), caller, 'invalid-argument'],
    ['an empty actor type', report('h:1', ['']), caller, 'invalid-argument'],
    ['another namespace’s internal type', report('h:1', ['dapr.internal.other.app.workflow']), caller, 'permission-denied'],
    ['another app’s internal type', report('h:1', ['dapr.internal.default.other.workflow']), caller, 'permission-denied'],
    ['a truncated internal type', report('h:1', ['dapr.internal.default']), caller, 'permission-denied'],
  ])('refuses %s', (_case, host, who, code) => {
    expect(refusal(() => authorizeHost(host, who, mtls)).code).toBe(code);
  });

  it('skips identity checks without mTLS, as Dapr does', () => {
    expect(() => authorizeHost(report('h:1', [], { id: 'anyone' }), undefined, { mtls: false, maxActorTypesPerHost: 3 })).not.toThrow();
  });
});
