// The CSR a service sends sentry for its SVID, as daprd makes it (spec §2.4): a fresh ECDSA P-256 key, an empty
// subject, no attributes, signed with ecdsa-with-SHA256. Built with node:crypto and a few DER bytes.
import { generateKeyPair, sign, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { Tag, encodeOid, sequence, tlv } from './der.js';
import { encodePem } from './pem.js';

const ecdsaWithSha256 = '1.2.840.10045.4.3.2';
const generateEcKeyPair = promisify(generateKeyPair);

/** A PKCS#10 CSR with an empty subject (as daprd sends) and its key, both PEM. */
export async function createCsr(): Promise<{ csrPem: string; keyPem: string }> {
  const { privateKey, publicKey } = (await generateEcKeyPair('ec', { namedCurve: 'P-256' })) as { privateKey: KeyObject; publicKey: KeyObject };
  const info = sequence(
    tlv(Tag.integer, Uint8Array.of(0)), // version v1
    sequence(), // subject: empty Name
    publicKey.export({ type: 'spki', format: 'der' }),
    tlv(0xa0), // attributes: [0] IMPLICIT SET OF Attribute, empty
  );
  const signature = sign('sha256', info, privateKey); // DER-encoded ECDSA-Sig-Value
  const csr = sequence(info, sequence(encodeOid(ecdsaWithSha256)), tlv(Tag.bitString, Uint8Array.of(0), signature));
  return { csrPem: encodePem('CERTIFICATE REQUEST', csr), keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}
