import { protos, silentLogger } from '@tapr/lib';
import type { Component } from '../resources/kinds.js';
import type { SecretReader } from '../resources/secrets.js';
import type * as Messages from './messages.js';
import { componentEventFor, UpdateDispatcher } from './updateDispatcher.js';
import { UpdateHub, type StreamSink } from './updateHub.js';

const { CREATED, UPDATED, DELETED } = protos.operator.ResourceEventType;

const comp = (name: string, scopes?: string[], rv = '1'): Component => ({
  metadata: { name, namespace: 'ns-a', resourceVersion: rv },
  spec: { type: 'state.redis', version: 'v1', metadata: [{ name: 'password', secretKeyRef: { name: 'redis', key: 'password' } }] },
  ...(scopes ? { scopes } : {}),
});

class FakeSink<M> implements StreamSink<M> {
  messages: M[] = [];
  ended = false;
  failed: Error | undefined;
  pending = 0;
  write(message: M): boolean {
    this.messages.push(message);
    return true;
  }
  end(): void {
    this.ended = true;
  }
  fail(error: Error): void {
    this.failed = error;
  }
}

describe('componentEventFor', () => {
  it.each([
    ['added, in scope', { kind: 'added', object: comp('c', ['a']) }, 'a', { type: CREATED, which: 'new' }],
    ['added, out of scope', { kind: 'added', object: comp('c', ['b']) }, 'a', undefined],
    ['updated, in both', { kind: 'updated', object: comp('c'), previous: comp('c') }, 'a', { type: UPDATED, which: 'new' }],
    ['updated into scope', { kind: 'updated', object: comp('c', ['a']), previous: comp('c', ['b']) }, 'a', { type: CREATED, which: 'new' }],
    ['updated out of scope', { kind: 'updated', object: comp('c', ['b']), previous: comp('c', ['a']) }, 'a', { type: DELETED, which: 'old' }],
    ['updated, never in scope', { kind: 'updated', object: comp('c', ['b']), previous: comp('c', ['b']) }, 'a', undefined],
    ['deleted, in scope', { kind: 'deleted', object: comp('c') }, 'a', { type: DELETED, which: 'new' }],
    ['deleted, out of scope', { kind: 'deleted', object: comp('c', ['b']) }, 'a', undefined],
  ] as const)('%s', (_name, change, appId, expected) => {
    const event = componentEventFor(appId, change as Parameters<typeof componentEventFor>[1]);
    if (!expected) return expect(event).toBeUndefined();
    expect(event?.type).toBe(expected.type);
    expect(event?.object).toBe(expected.which === 'new' ? change.object : (change as { previous: Component }).previous);
  });
});

describe('UpdateDispatcher', () => {
  const secrets: SecretReader & { reads: number } = {
    reads: 0,
    async read() {
      this.reads++;
      return { password: Buffer.from('pw').toString('base64') };
    },
  };

  function setup() {
    const hub = new UpdateHub();
    const dispatcher = new UpdateDispatcher({ hub, secrets, logger: silentLogger() });
    const sinks = {
      orders1: new FakeSink<Messages.ComponentUpdateEvent>(),
      orders2: new FakeSink<Messages.ComponentUpdateEvent>(),
      billing: new FakeSink<Messages.ComponentUpdateEvent>(),
      otherNs: new FakeSink<Messages.ComponentUpdateEvent>(),
    };
    hub.add('components', { namespace: 'ns-a', appId: 'orders', sink: sinks.orders1 });
    hub.add('components', { namespace: 'ns-a', appId: 'orders', sink: sinks.orders2 });
    hub.add('components', { namespace: 'ns-a', appId: 'billing', sink: sinks.billing });
    hub.add('components', { namespace: 'ns-b', appId: 'orders', sink: sinks.otherNs });
    return { hub, dispatcher, sinks };
  }

  describe('when a component changes', () => {
    it('sends each stream of the namespace what its app should see, resolving secrets once per payload', async () => {
      const { dispatcher, sinks } = setup();
      secrets.reads = 0;
      const handler = dispatcher.componentHandler();
      handler.updated!(comp('store', ['billing', 'orders'], '1'), comp('store', ['billing'], '2'));
      await dispatcher.idle();

      const decoded = (sink: FakeSink<Messages.ComponentUpdateEvent>) =>
        sink.messages.map((m) => ({ type: m.getType(), component: JSON.parse(Buffer.from(m.getComponent_asU8()).toString()) }));
      expect(decoded(sinks.orders1)).toEqual([{ type: DELETED, component: expect.objectContaining({ scopes: ['billing', 'orders'] }) }]);
      expect(decoded(sinks.orders2)).toEqual(decoded(sinks.orders1));
      expect(decoded(sinks.billing)).toEqual([{ type: UPDATED, component: expect.objectContaining({ scopes: ['billing'] }) }]);
      expect(decoded(sinks.billing)[0]?.component.spec.metadata[0].value).toBe(Buffer.from('pw').toString('base64'));
      expect(sinks.otherNs.messages).toEqual([]);
      expect(secrets.reads).toBe(2);
    });

    it('keeps the order of events of one namespace', async () => {
      const { dispatcher, sinks } = setup();
      const handler = dispatcher.componentHandler();
      handler.added!(comp('one'));
      handler.updated!(comp('one'), comp('one', undefined, '2'));
      handler.removed!(comp('one', undefined, '2'), 'deleted');
      await dispatcher.idle();
      expect(sinks.orders1.messages.map((m) => m.getType())).toEqual([CREATED, UPDATED, DELETED]);
    });
  });

  describe('when a stream stops reading', () => {
    it('fails that stream with RESOURCE_EXHAUSTED and keeps serving the others', async () => {
      const { hub, dispatcher, sinks } = setup();
      sinks.orders2.pending = 5000;
      dispatcher.componentHandler().added!(comp('store'));
      await dispatcher.idle();
      expect(sinks.orders2.failed?.message).toMatch(/not reading/);
      expect(sinks.orders1.messages).toHaveLength(1);
      expect(hub.count('components')).toBe(3);
    });
  });

  describe('when the operator shuts down', () => {
    it('ends every stream and refuses new ones', () => {
      const { hub, sinks } = setup();
      hub.closeAll();
      expect(Object.values(sinks).every((sink) => sink.ended)).toBe(true);
      expect(hub.count()).toBe(0);
      expect(() => hub.add('components', { namespace: 'ns-a', appId: 'x', sink: new FakeSink() })).toThrow(/shutting down/);
    });
  });
});
