import { protos } from '@tapr/lib';
import { FramedOrder, WireOrderCodec, hostFromProto, hostToProto, placementServiceDefinition } from './wire.js';
import { report } from './fakes.js';

const keys = (map: { forEach(fn: (value: unknown, key: string) => void): void }) => {
  const out: string[] = [];
  map.forEach((_value, key) => out.push(key));
  return out.sort();
};
const decode = (payload: unknown) =>
  protos.placement.PlacementOrder.deserializeBinary(new Uint8Array(payload instanceof FramedOrder ? payload.message : (payload as Buffer)));

describe('WireOrderCodec', () => {
  const codec = new WireOrderCodec(100);

  it('encodes lock and unlock as Dapr’s lowercase operations with the version', () => {
    expect(decode(codec.lock(7).payload).toObject()).toEqual({ operation: 'lock', version: 7, tables: undefined });
    expect(decode(codec.unlock(7).payload).toObject()).toEqual({ operation: 'unlock', version: 7, tables: undefined });
  });

  it('encodes update with load_map keyed by host name per actor type, the decimal version and the replication factor', () => {
    const a = report('10.0.0.1:50002', ['counter', 'timer']);
    const b = report('10.0.0.2:50002', ['counter'], { id: 'other' });
    const order = decode(codec.update(4, [a, b]).payload);
    expect(order.getOperation()).toBe('update');
    expect(order.getVersion()).toBe(4);
    const tables = order.getTables()!;
    expect(tables.getVersion()).toBe('4');
    expect(tables.getReplicationFactor()).toBe(100);
    expect(tables.getApiLevel()).toBe(0);
    expect(keys(tables.getEntriesMap())).toEqual(['counter', 'timer']);
    const counter = tables.getEntriesMap().get('counter')!;
    expect(keys(counter.getLoadMapMap())).toEqual(['10.0.0.1:50002', '10.0.0.2:50002']);
    expect(counter.getHostsMap().getLength()).toBe(0);
    expect(counter.getSortedSetList()).toEqual([]);
    expect(hostFromProto(counter.getLoadMapMap().get('10.0.0.2:50002')!)).toEqual(b);
    expect(keys(tables.getEntriesMap().get('timer')!.getLoadMapMap())).toEqual(['10.0.0.1:50002']);
  });

  describe('when tables carry only the routing fields of each host', () => {
    const routing = new WireOrderCodec(100, 'routing');
    const a = report('10.0.0.1:50002', ['counter', 'timer'], { port: 3500, load: 2 });
    const b = report('10.0.0.2:50002', ['counter'], { id: 'other' });

    it('keeps the keys, name, id, port and load daprd reads, and leaves the rest of the report out', () => {
      const tables = decode(routing.update(4, [a, b]).payload).getTables()!;
      expect(keys(tables.getEntriesMap())).toEqual(['counter', 'timer']);
      const counter = tables.getEntriesMap().get('counter')!;
      expect(keys(counter.getLoadMapMap())).toEqual(['10.0.0.1:50002', '10.0.0.2:50002']);
      const host = counter.getLoadMapMap().get('10.0.0.1:50002')!;
      expect(host.hasVersion()).toBe(false);
      expect(host.toObject()).toEqual({
        name: '10.0.0.1:50002',
        id: a.id,
        port: 3500,
        load: 2,
        entitiesList: [],
        pod: '',
        apiLevel: 0,
        namespace: '',
        operation: 0,
        version: 0, // toObject's default: not on the wire (hasVersion is false)
      });
      expect(counter.getLoadMapMap().get('10.0.0.2:50002')!.getId()).toBe('other');
      expect(tables.getVersion()).toBe('4');
      expect(tables.getReplicationFactor()).toBe(100);
    });

    it('is smaller than the full table', () => {
      const hosts = Array.from({ length: 50 }, (_, i) => report(`10.0.1.${i}:50002`, ['counter', 'timer', 'reminder']));
      const size = (order: { payload: unknown }) => (order.payload as FramedOrder).byteLength;
      expect(size(routing.update(1, hosts))).toBeLessThan(size(codec.update(1, hosts)) * 0.6);
    });
  });
});

describe('hostFromProto', () => {
  it('sorts entities and keeps the version only when present', () => {
    const message = hostToProto(report('h:1', ['b', 'a'])).setEntitiesList(['b', 'a']);
    expect(hostFromProto(message).entities).toEqual(['a', 'b']);
    expect('version' in hostFromProto(message)).toBe(false);
    expect(hostFromProto(message.setVersion(0)).version).toBe(0);
  });
});

describe('placementServiceDefinition', () => {
  it('decodes requests into host reports', () => {
    const { requestDeserialize } = placementServiceDefinition().reportDaprStatus;
    const bytes = Buffer.from(hostToProto(report('10.0.0.1:50002', ['b', 'a'])).serializeBinary());
    expect(requestDeserialize(bytes)).toEqual(report('10.0.0.1:50002', ['a', 'b']));
  });

  it('passes pre-encoded orders through and still serializes messages', () => {
    const { responseSerialize } = placementServiceDefinition().reportDaprStatus;
    const framed = new FramedOrder(new Uint8Array([1, 2, 3]));
    expect([...framed.frame]).toEqual([0, 0, 0, 0, 3, 1, 2, 3]);
    expect([...responseSerialize(framed)]).toEqual([1, 2, 3]);
    const order = new protos.placement.PlacementOrder().setOperation('lock').setVersion(1);
    expect(decode(responseSerialize(order)).getOperation()).toBe('lock');
  });
});
