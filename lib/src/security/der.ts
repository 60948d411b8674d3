// Just enough DER (ASN.1 Distinguished Encoding Rules) to slice a CSR and to assemble a CSR or a certificate from
// pre-encoded pieces. Sentry signs thousands of times a second and every service makes a CSR for its SVID, so this
// avoids a general ASN.1 library on the hot path and in memory (@peculiar/x509 with reflect-metadata costs about
// 10 MiB RSS); the rarely-run parts (generating and validating CA certificates) load @peculiar/x509 when they run.

export const Tag = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

/** A malformed DER input; the message says what was expected where. */
export class DerError extends Error {}

export interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  /** Offset just past the content. */
  end: number;
}

/** Reads one tag-length-value at `offset`, strictly: definite lengths only, minimal length encoding, within `limit`. */
export function readTlv(buf: Uint8Array, offset: number, limit = buf.length, what = 'element'): Tlv {
  if (offset + 2 > limit) throw new DerError(`truncated ${what}: no room for a tag and length at byte ${offset}`);
  const tag = buf[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`unsupported multi-byte tag in ${what} at byte ${offset}`);
  let lengthByte = buf[offset + 1] as number;
  let contentStart = offset + 2;
  let length = lengthByte;
  if (lengthByte & 0x80) {
    const count = lengthByte & 0x7f;
    if (count === 0) throw new DerError(`indefinite length is not DER (${what} at byte ${offset})`);
    if (count > 4) throw new DerError(`length of ${what} at byte ${offset} is too large`);
    if (contentStart + count > limit) throw new DerError(`truncated length of ${what} at byte ${offset}`);
    length = 0;
    for (let i = 0; i < count; i++) {
      lengthByte = buf[contentStart + i] as number;
      if (i === 0 && lengthByte === 0) throw new DerError(`non-minimal length of ${what} at byte ${offset}`);
      length = length * 256 + lengthByte;
    }
    if (length < 0x80) throw new DerError(`non-minimal length of ${what} at byte ${offset}`);
    contentStart += count;
  }
  const end = contentStart + length;
  if (end > limit) throw new DerError(`truncated ${what}: ${length} content bytes declared at byte ${offset}, ${limit - contentStart} available`);
  return { tag, start: offset, contentStart, end };
}

/** Reads a TLV and checks its tag. */
export function expectTlv(buf: Uint8Array, offset: number, tag: number, limit: number, what: string): Tlv {
  const tlv = readTlv(buf, offset, limit, what);
  if (tlv.tag !== tag) {
    throw new DerError(`expected ${what} (tag 0x${tag.toString(16)}) at byte ${offset}, found tag 0x${tlv.tag.toString(16)}`);
  }
  return tlv;
}

/** Encodes a DER length. */
export function encodeLength(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  if (length < 0x100) return Uint8Array.of(0x81, length);
  if (length < 0x10000) return Uint8Array.of(0x82, length >> 8, length & 0xff);
  if (length < 0x1000000) return Uint8Array.of(0x83, length >> 16, (length >> 8) & 0xff, length & 0xff);
  throw new RangeError(`DER length ${length} is too large`);
}

/** Encodes tag + length + the concatenated parts. */
export function tlv(tag: number, ...parts: Uint8Array[]): Buffer {
  let length = 0;
  for (const part of parts) length += part.length;
  return Buffer.concat([Uint8Array.of(tag), encodeLength(length), ...parts]);
}

export const sequence = (...parts: Uint8Array[]): Buffer => tlv(Tag.sequence, ...parts);

/** Encodes a dotted object identifier (e.g. `2.5.29.17`). */
export function encodeOid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((arc) => {
    if (!/^\d+$/.test(arc)) throw new Error(`invalid OID ${dotted}`);
    return Number(arc);
  });
  if (arcs.length < 2) throw new Error(`invalid OID ${dotted}`);
  const bytes: number[] = [];
  const pushArc = (value: number) => {
    const groups = [value & 0x7f];
    for (let rest = Math.floor(value / 128); rest > 0; rest = Math.floor(rest / 128)) groups.unshift((rest & 0x7f) | 0x80);
    bytes.push(...groups);
  };
  pushArc((arcs[0] as number) * 40 + (arcs[1] as number));
  for (const arc of arcs.slice(2)) pushArc(arc);
  return tlv(Tag.oid, Uint8Array.from(bytes));
}

/** Decodes the content bytes of an OID to dotted form. */
export function decodeOid(content: Uint8Array): string {
  const arcs: number[] = [];
  let value = 0;
  for (const byte of content) {
    value = value * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      if (arcs.length === 0) {
        const first = value < 80 ? Math.floor(value / 40) : 2;
        arcs.push(first, value - first * 40);
      } else arcs.push(value);
      value = 0;
    }
  }
  return arcs.join('.');
}

/**
 * A certificate time: UTCTime for 1950–2049 and GeneralizedTime otherwise (RFC 5280 §4.1.2.5), whole seconds, UTC.
 */
export function encodeTime(date: Date): Buffer {
  const year = date.getUTCFullYear();
  const two = (n: number) => String(n).padStart(2, '0');
  const rest = `${two(date.getUTCMonth() + 1)}${two(date.getUTCDate())}${two(date.getUTCHours())}${two(date.getUTCMinutes())}${two(date.getUTCSeconds())}Z`;
  if (year >= 1950 && year < 2050) return tlv(Tag.utcTime, Buffer.from(`${two(year % 100)}${rest}`, 'latin1'));
  return tlv(Tag.generalizedTime, Buffer.from(`${String(year).padStart(4, '0')}${rest}`, 'latin1'));
}

/** A positive INTEGER from unsigned big-endian bytes (leading zeros stripped, a zero added when the top bit is set). */
export function encodeUnsignedInteger(bytes: Uint8Array): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  return (trimmed[0] as number) & 0x80 ? tlv(Tag.integer, Uint8Array.of(0), trimmed) : tlv(Tag.integer, trimmed);
}

/** The unsigned big-endian value of an INTEGER's content (a leading sign byte removed). */
export function unsignedIntegerContent(content: Uint8Array): Uint8Array {
  return content.length > 1 && content[0] === 0 ? content.subarray(1) : content;
}
