import type { Component } from './kinds.js';
import { validateComponent } from './validation.js';

const component = (spec: Component['spec'], auth?: Component['auth']): Component => ({ metadata: { name: 'c', namespace: 'n' }, spec, auth });
const reasons = (c: Component) => validateComponent(c).map((p) => p.reason);

describe('validateComponent', () => {
  describe('when the component is well formed', () => {
    it.each(['state.redis', 'pubsub.kafka', 'bindings.cron', 'middleware.http.oauth2', 'secretstores.kubernetes', 'conversation.openai'])(
      'finds nothing wrong with type %s',
      (type) => {
        expect(validateComponent(component({ type, version: 'v1', metadata: [{ name: 'a', value: '1' }], initTimeout: '5s' }))).toEqual([]);
      },
    );
  });

  describe('when the type is unknown', () => {
    it.each(['redis', 'storage.redis', 'state.', 'middleware.oauth2', ''])('reports %j', (type) => {
      expect(reasons(component({ type, version: 'v1', metadata: [] }))).toEqual(['UnknownComponentType']);
    });
  });

  describe('when other fields are invalid', () => {
    it('reports a bad version and initTimeout', () => {
      expect(reasons(component({ type: 'state.redis', version: '1', initTimeout: 'soon', metadata: [] }))).toEqual([
        'InvalidComponentVersion',
        'InvalidInitTimeout',
      ]);
    });

    it('reports metadata without a name, duplicated names, several value sources and bad secret names', () => {
      const problems = validateComponent(
        component({
          type: 'state.redis',
          version: 'v1',
          metadata: [
            { value: 'x' },
            { name: 'host', value: 'a' },
            { name: 'Host', value: 'b' },
            { name: 'password', value: 'p', secretKeyRef: { name: 'redis' } },
            { name: 'user', secretKeyRef: { name: 'Not_A_Secret!' } },
          ],
        }),
      );
      expect(problems.map((p) => p.message)).toEqual([
        'spec.metadata[0] has no name',
        'spec.metadata[2]: the name "Host" appears more than once',
        'spec.metadata[3] ("password") sets more than one of value, secretKeyRef and envRef',
        'spec.metadata[4] ("user"): "Not_A_Secret!" is not a valid Secret name',
      ]);
    });

    it('does not judge secret names of other secret stores', () => {
      expect(reasons(component({ type: 'state.redis', version: 'v1', metadata: [{ name: 'u', secretKeyRef: { name: 'path/in/vault' } }] }, { secretStore: 'vault' }))).toEqual([]);
    });
  });
});
