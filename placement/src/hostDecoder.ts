// Decodes a `dapr.proto.placement.v1.Host` straight into a HostReport. Every stream sends one per phase of every
// round (15,000 acks per round with 5,000 hosts), and google-protobuf's generated code builds a message object
// and its arrays first; reading the few fields directly costs a fraction of that. Same results as the generated
// code for every valid message (hostDecoder.test.ts compares them); malformed input throws, which grpc-js
// answers with INTERNAL "Error deserializing request", as it does for the generated decoder's errors.
import type { HostOperation, HostReport } from './host.js';

const two32 = 2 ** 32;

export class HostDecodeError extends Error {
  constructor(message: string) {
    super(`malformed Host message: ${message}`);
    this.name = 'HostDecodeError';
  }
}

export function decodeHost(bytes: Uint8Array): HostReport {
  const reader = new Reader(bytes);
  const host: HostReport = { name: '', id: '', namespace: '', entities: [], operation: 0, port: 0, load: 0, pod: '', apiLevel: 0 };
  while (!reader.done) {
    const key = reader.varint32();
    const field = key >>> 3;
    const wireType = key & 7;
    const expect = (wanted: number) => {
      if (wireType !== wanted) throw new HostDecodeError(`field ${field} has wire type ${wireType}, expected ${wanted}`);
    };
    switch (field) {
      case 1:
        expect(2);
        host.name = reader.string();
        break;
      case 2:
        expect(0);
        host.port = reader.int64();
        break;
      case 3:
        expect(0);
        host.load = reader.int64();
        break;
      case 4:
        expect(2);
        host.entities.push(reader.string());
        break;
      case 5:
        expect(2);
        host.id = reader.string();
        break;
      case 6:
        expect(2);
        host.pod = reader.string();
        break;
      case 7:
        expect(0);
        host.apiLevel = reader.uint32();
        break;
      case 8:
        expect(2);
        host.namespace = reader.string();
        break;
      case 9:
        expect(0);
        host.operation = reader.int32() as HostOperation;
        break;
      case 10:
        expect(0);
        host.version = reader.uint64();
        break;
      default:
        reader.skip(wireType);
    }
  }
  host.entities.sort();
  return host;
}

class Reader {
  #at = 0;
  readonly #buffer: Buffer;

  constructor(bytes: Uint8Array) {
    this.#buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get done(): boolean {
    return this.#at >= this.#buffer.length;
  }

  /** A varint as two 32-bit halves. */
  #varint(): [low: number, high: number] {
    let low = 0;
    let high = 0;
    for (let i = 0; i < 10; i++) {
      if (this.#at >= this.#buffer.length) throw new HostDecodeError('truncated varint');
      const byte = this.#buffer[this.#at++]!;
      if (i < 4) low |= (byte & 0x7f) << (7 * i);
      else if (i === 4) {
        low |= (byte & 0x0f) << 28;
        high |= (byte & 0x7f) >> 4;
      } else high |= (byte & 0x7f) << (7 * i - 32);
      if (byte < 0x80) return [low >>> 0, high >>> 0];
    }
    throw new HostDecodeError('varint longer than 10 bytes');
  }

  varint32(): number {
    return this.#varint()[0];
  }

  uint32(): number {
    return this.#varint()[0];
  }

  int32(): number {
    return this.#varint()[0] | 0;
  }

  uint64(): number {
    const [low, high] = this.#varint();
    return high * two32 + low;
  }

  int64(): number {
    const [low, high] = this.#varint();
    if (high & 0x80000000) return -((~high >>> 0) * two32 + (~low >>> 0) + 1);
    return high * two32 + low;
  }

  string(): string {
    const length = this.uint32();
    const end = this.#at + length;
    if (end > this.#buffer.length) throw new HostDecodeError('truncated string');
    const text = this.#buffer.toString('utf8', this.#at, end);
    this.#at = end;
    return text;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.#varint();
        return;
      case 1:
        this.#advance(8);
        return;
      case 2:
        this.#advance(this.uint32());
        return;
      case 5:
        this.#advance(4);
        return;
      default:
        throw new HostDecodeError(`unsupported wire type ${wireType}`);
    }
  }

  #advance(n: number): void {
    if (this.#at + n > this.#buffer.length) throw new HostDecodeError('truncated field');
    this.#at += n;
  }
}
