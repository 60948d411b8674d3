// PEM text <-> DER bytes. Decoding follows Go's encoding/pem closely enough for what sentry reads: blocks may be
// preceded or followed by other text, the body is base64 with any line breaks; headers (`Key: value` lines) are
// skipped.

export interface PemBlock {
  type: string;
  der: Buffer;
}

const blockPattern = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;
const base64Body = /^[A-Za-z0-9+/=\s]*$/;

/** Every well-formed PEM block in `text`, in order. Throws on a block whose body is not base64. */
export function decodePemBlocks(text: string | Uint8Array): PemBlock[] {
  const source = typeof text === 'string' ? text : Buffer.from(text).toString('latin1');
  const blocks: PemBlock[] = [];
  for (const match of source.matchAll(blockPattern)) {
    const type = match[1] as string;
    let body = match[2] as string;
    // RFC 1421 headers end at the first blank line.
    if (/^[^\r\n]*:/.test(body)) {
      const blank = body.search(/\r?\n\r?\n/);
      body = blank < 0 ? '' : body.slice(blank);
    }
    if (!base64Body.test(body)) throw new Error(`PEM block "${type}" has a body that is not base64`);
    const der = Buffer.from(body.replace(/\s+/g, ''), 'base64');
    if (der.length === 0) throw new Error(`PEM block "${type}" is empty`);
    blocks.push({ type, der });
  }
  return blocks;
}

/** The DER of every `CERTIFICATE` block; throws when there is none or a block of another type appears. */
export function decodeCertificates(text: string | Uint8Array, what = 'certificates'): Buffer[] {
  const blocks = decodePemBlocks(text);
  if (blocks.length === 0) throw new Error(`${what}: no PEM CERTIFICATE block found`);
  for (const block of blocks) {
    if (block.type !== 'CERTIFICATE') throw new Error(`${what}: unexpected PEM block "${block.type}" (want CERTIFICATE)`);
  }
  return blocks.map((block) => block.der);
}

/** PEM text for DER bytes: base64 in 64-character lines, a trailing newline. */
export function encodePem(type: string, der: Uint8Array): string {
  const base64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  let body = '';
  for (let i = 0; i < base64.length; i += 64) body += `${base64.slice(i, i + 64)}\n`;
  return `-----BEGIN ${type}-----\n${body}-----END ${type}-----\n`;
}

export function encodeCertificates(ders: readonly Uint8Array[]): string {
  return ders.map((der) => encodePem('CERTIFICATE', der)).join('');
}
