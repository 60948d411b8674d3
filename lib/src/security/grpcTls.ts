// gRPC transport security from SVIDs, the way Dapr's control plane uses it (spec §1): servers present their SVID
// and (for mTLS) accept any client certificate that chains to the trust anchors, leaving authorisation to the
// application by the caller's SPIFFE ID; clients verify the server by its exact SPIFFE ID, not by host name.
// Both sides use grpc-js certificate providers, so a rotated SVID or trust bundle applies to new connections
// without restarting anything.
import * as grpc from '@grpc/grpc-js';
import { isIP } from 'node:net';
import type { PeerCertificate } from 'node:tls';
import type { Svid, SvidSource } from './svid.js';
import { formatSpiffeId, spiffeIdFromSubjectAltName, type SpiffeId } from './spiffe.js';

type CertificateProvider = Parameters<typeof grpc.experimental.createCertificateProviderServerCredentials>[0];
type CaListener = Parameters<CertificateProvider['addCaCertificateListener']>[0];
type IdentityListener = Parameters<CertificateProvider['addIdentityCertificateListener']>[0];

/**
 * Adapts changing PEM material to grpc-js's CertificateProvider interface. A new listener gets the latest material
 * on a microtask, not synchronously: grpc-js registers its own watcher only after adding the listener, and would
 * drop an update delivered during the call.
 */
class PemCertificateProvider implements CertificateProvider {
  readonly #ca = new Set<CaListener>();
  readonly #identity = new Set<IdentityListener>();
  #latestCa: string | undefined;
  #latestIdentity: Svid | undefined;

  addCaCertificateListener(listener: CaListener): void {
    this.#ca.add(listener);
    queueMicrotask(() => {
      if (this.#latestCa && this.#ca.has(listener)) listener({ caCertificate: Buffer.from(this.#latestCa) });
    });
  }
  removeCaCertificateListener(listener: CaListener): void {
    this.#ca.delete(listener);
  }
  addIdentityCertificateListener(listener: IdentityListener): void {
    this.#identity.add(listener);
    queueMicrotask(() => {
      if (this.#latestIdentity && this.#identity.has(listener)) listener(identityUpdate(this.#latestIdentity));
    });
  }
  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.#identity.delete(listener);
  }

  setCa(pem: string): void {
    if (pem === this.#latestCa) return;
    this.#latestCa = pem;
    for (const listener of this.#ca) listener({ caCertificate: Buffer.from(pem) });
  }
  setIdentity(svid: Svid): void {
    this.#latestIdentity = svid;
    for (const listener of this.#identity) listener(identityUpdate(svid));
  }
}

function identityUpdate(svid: Svid) {
  return { certificate: Buffer.from(svid.certChainPem), privateKey: Buffer.from(svid.keyPem) };
}

export interface ServerCredentialsOptions {
  /** mTLS: reject clients without a certificate chaining to the trust anchors. */
  requireClientCert: boolean;
}

/** Server credentials presenting the source's current SVID; its trust anchors verify client certificates. */
export function grpcServerCredentials(source: SvidSource, options: ServerCredentialsOptions): grpc.ServerCredentials {
  const provider = new PemCertificateProvider();
  const apply = (svid: Svid) => {
    provider.setCa(svid.trustAnchorsPem);
    provider.setIdentity(svid);
  };
  const svid = source.current();
  if (svid) apply(svid);
  source.subscribe(apply);
  return grpc.experimental.createCertificateProviderServerCredentials(provider, provider, options.requireClientCert);
}

export interface ClientCredentialsOptions {
  /** The roots that verify the server (e.g. the trust-anchors file's current content). */
  trustAnchorsPem: () => string;
  /** Called with a listener that must run whenever `trustAnchorsPem()` changes; returns an unsubscribe function. */
  trustAnchorsChanged?: (listener: () => void) => () => void;
  /** The server must present exactly this SPIFFE ID. */
  serverId: SpiffeId;
  /** Our own SVID, for mutual TLS. */
  source?: SvidSource;
}

export function grpcClientCredentials(options: ClientCredentialsOptions): grpc.ChannelCredentials {
  const ca = new PemCertificateProvider();
  ca.setCa(options.trustAnchorsPem());
  options.trustAnchorsChanged?.(() => ca.setCa(options.trustAnchorsPem()));
  let identity: PemCertificateProvider | null = null;
  if (options.source) {
    const provider = new PemCertificateProvider();
    const svid = options.source.current();
    if (svid) provider.setIdentity(svid);
    options.source.subscribe((next) => provider.setIdentity(next));
    identity = provider;
  }
  return grpc.experimental.createCertificateProviderChannelCredentials(ca, identity, {
    checkServerIdentity: spiffeServerIdentityCheck(options.serverId),
  });
}

/**
 * Channel options for a client of `address` using `grpcClientCredentials`. When the host is an IP address, the TLS
 * server name (SNI) becomes a DNS name made from the expected SPIFFE ID (`<id>.<namespace>.svc`, the name Kubernetes
 * would give the service): Node refuses an IP address as ServerName (DEP0123, RFC 6066), and the server is checked
 * by its SPIFFE ID, not its host name, so nothing else changes. Other hosts keep their own name.
 */
export function grpcClientChannelOptions(address: string, serverId: SpiffeId): grpc.ChannelOptions {
  const host = hostOf(address);
  if (!host || !isIP(host)) return {};
  const label = (text: string) => text.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '') || 'x';
  return { 'grpc.ssl_target_name_override': `${label(serverId.appId)}.${label(serverId.namespace)}.svc` };
}

/** The host of a gRPC target: `host:port`, `[v6]:port`, a bare host, or with a `dns:`/`ipv4:`/`ipv6:` scheme. */
function hostOf(address: string): string | undefined {
  const target = address.replace(/^(?:dns:(?:\/\/[^/]*\/)?|ipv4:|ipv6:)/, '');
  if (isIP(target)) return target;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(target);
  if (bracketed) return bracketed[1];
  const plain = /^([^:/]+)(?::\d+)?$/.exec(target);
  return plain?.[1];
}

/**
 * A `checkServerIdentity` for Node TLS and grpc-js: the chain was already verified against the trust anchors;
 * this accepts the peer only if its certificate carries exactly the expected SPIFFE ID.
 */
export function spiffeServerIdentityCheck(expected: SpiffeId): (host: string, cert: PeerCertificate) => Error | undefined {
  const want = formatSpiffeId(expected);
  return (_host, cert) => {
    const got = spiffeIdFromSubjectAltName(cert.subjectaltname);
    if (!got) return new Error(`server certificate has no SPIFFE ID; expected ${want}`);
    const text = formatSpiffeId(got);
    return text === want ? undefined : new Error(`server SPIFFE ID is ${text}; expected ${want}`);
  };
}

/** The SPIFFE ID of the verified client certificate of a gRPC call (undefined without mTLS or an ID). */
export function callerSpiffeId(call: { getAuthContext(): { sslPeerCertificate?: PeerCertificate } }): SpiffeId | undefined {
  return spiffeIdFromSubjectAltName(call.getAuthContext().sslPeerCertificate?.subjectaltname);
}

/** Options for Node's `tls`/`https` servers and clients from an SVID (key, chain and trust anchors). */
export function tlsOptionsFromSvid(svid: Svid): { key: string; cert: string; ca: string } {
  return { key: svid.keyPem, cert: svid.certChainPem, ca: svid.trustAnchorsPem };
}
