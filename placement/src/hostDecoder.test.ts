import { protos } from '@tapr/lib';
import { HostDecodeError, decodeHost } from './hostDecoder.js';
import { hostFromProto } from './wire.js';

const { Host } = protos.placement;
type HostMessage = InstanceType<typeof Host>;

/** A deterministic pseudo-random sequence, so failures reproduce. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

function randomHost(next: () => number): HostMessage {
  const text = (max: number) => Array.from({ length: Math.floor(next() * max) }, () => 'aé.:-0Z漢'[Math.floor(next() * 8)]).join('');
  const host = new Host()
    .setName(text(24))
    .setId(text(12))
    .setNamespace(text(12))
    .setPod(text(6))
    .setEntitiesList(Array.from({ length: Math.floor(next() * 5) }, () => text(10)))
    .setApiLevel(Math.floor(next() * 2 ** 32))
    .setOperation(Math.floor(next() * 5) as 0)
    .setPort(Math.floor((next() - 0.5) * 2 ** 40))
    .setLoad(Math.floor(next() * 1000));
  if (next() < 0.5) host.setVersion(Math.floor(next() * 2 ** 50));
  return host;
}

describe('decodeHost', () => {
  describe('when given Host messages encoded by the generated code', () => {
    it('reads every field as the generated decoder does', () => {
      const next = random(42);
      for (let i = 0; i < 500; i++) {
        const bytes = randomHost(next).serializeBinary();
        expect(decodeHost(bytes)).toEqual(hostFromProto(Host.deserializeBinary(bytes)));
      }
    });

    it('keeps a version of 0 when it is present, and sorts the actor types', () => {
      const bytes = new Host().setId('app').setNamespace('ns').setOperation(2).setVersion(0).setEntitiesList(['b', 'a']).serializeBinary();
      const host = decodeHost(bytes);
      expect(host.version).toBe(0);
      expect(host.entities).toEqual(['a', 'b']);
      expect('version' in decodeHost(new Host().setId('app').serializeBinary())).toBe(false);
    });

    it('reads negative 64-bit numbers and skips fields it does not know', () => {
      const known = new Host().setName('10.0.0.1:50002').setPort(-5).setLoad(-(2 ** 40)).serializeBinary();
      // Field 15 (varint), 16 (length-delimited) and 17 (fixed64), 18 (fixed32) from a newer peer.
      const unknown = Buffer.from([0x78, 0x96, 0x01, 0x82, 0x01, 0x02, 0x68, 0x69, 0x89, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0x95, 0x01, 1, 2, 3, 4]);
      const bytes = Buffer.concat([Buffer.from(known), unknown]);
      expect(decodeHost(bytes)).toEqual(hostFromProto(Host.deserializeBinary(bytes)));
      expect(decodeHost(bytes)).toMatchObject({ name: '10.0.0.1:50002', port: -5, load: -(2 ** 40) });
    });

    it('reads an empty message as an empty host', () => {
      expect(decodeHost(new Uint8Array(0))).toEqual(hostFromProto(new Host()));
    });
  });

  describe('when the message is malformed', () => {
    it.each([
      ['a truncated string', [0x0a, 0x05, 0x61], 'truncated string'],
      ['a truncated varint', [0x10, 0x80], 'truncated varint'],
      ['a known field with the wrong wire type', [0x08, 0x01], 'field 1 has wire type 0, expected 2'],
      ['a group', [0x0b], 'field 1 has wire type 3, expected 2'],
      ['an unknown group', [0xfb, 0x01], 'unsupported wire type 3'],
      ['a truncated unknown field', [0x89, 0x01, 1, 2], 'truncated field'],
    ])('throws for %s', (_what, bytes, message) => {
      expect(() => decodeHost(new Uint8Array(bytes))).toThrow(HostDecodeError);
      expect(() => decodeHost(new Uint8Array(bytes))).toThrow(message);
    });
  });
});
