import * as grpc from '@grpc/grpc-js';
import tls from 'node:tls';
import { protos } from '../index.js';
import { createTestTrustBundle, issueTestSvid, type TestTrustBundle } from '../testing/svid.js';
import { StaticSvidSource, type Svid } from './svid.js';
import { callerSpiffeId, grpcClientChannelOptions, grpcClientCredentials, grpcServerCredentials } from './grpcTls.js';
import { formatSpiffeId, type SpiffeId } from './spiffe.js';

const serverId: SpiffeId = { trustDomain: 'cluster.local', namespace: 'dapr-system', appId: 'dapr-sentry' };
const orders: SpiffeId = { trustDomain: 'public', namespace: 'ns-a', appId: 'orders' };

// A CA service that answers with the caller's SPIFFE ID, so tests see what the server authenticated.
async function startServer(source: StaticSvidSource, requireClientCert: boolean): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(protos.sentryGrpc.CAService, {
    signCertificate: (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const caller = callerSpiffeId(call);
      const response = new protos.sentry.SignCertificateResponse();
      response.setWorkloadCertificate(Buffer.from(caller ? formatSpiffeId(caller) : 'anonymous'));
      callback(null, response);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpcServerCredentials(source, { requireClientCert }), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return { server, port };
}

function call(port: number, credentials: grpc.ChannelCredentials): Promise<string> {
  const client = new protos.sentryGrpc.CAClient(`127.0.0.1:${port}`, credentials, grpcClientChannelOptions(`127.0.0.1:${port}`, serverId));
  return new Promise<string>((resolve, reject) => {
    client.signCertificate(new protos.sentry.SignCertificateRequest(), new grpc.Metadata(), { deadline: Date.now() + 5000 }, (error, response) => {
      client.close();
      if (error) reject(error);
      else resolve(Buffer.from(response!.getWorkloadCertificate_asU8()).toString());
    });
  });
}

describe('gRPC transport security from SVIDs', () => {
  let bundle: TestTrustBundle;
  let serverSvid: Svid;
  let clientSvid: Svid;

  beforeAll(async () => {
    bundle = await createTestTrustBundle();
    serverSvid = await issueTestSvid(bundle, serverId);
    clientSvid = await issueTestSvid(bundle, orders);
  });

  describe('when the server requires client certificates', () => {
    let server: grpc.Server;
    let port: number;
    beforeAll(async () => {
      ({ server, port } = await startServer(new StaticSvidSource(serverSvid), true));
    });
    afterAll(() => server.forceShutdown());

    it('tells the server the caller SPIFFE ID from the verified client certificate', async () => {
      const credentials = grpcClientCredentials({ trustAnchorsPem: () => bundle.rootPem, serverId, source: new StaticSvidSource(clientSvid) });
      await expect(call(port, credentials)).resolves.toBe('spiffe://public/ns/ns-a/orders');
    });

    it('refuses a client without a certificate', async () => {
      const credentials = grpcClientCredentials({ trustAnchorsPem: () => bundle.rootPem, serverId });
      await expect(call(port, credentials)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    });

    it('refuses a client whose certificate comes from another root', async () => {
      const other = await createTestTrustBundle();
      const stranger = await issueTestSvid(other, orders);
      const credentials = grpcClientCredentials({ trustAnchorsPem: () => bundle.rootPem, serverId, source: new StaticSvidSource(stranger) });
      await expect(call(port, credentials)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    });

    it('makes the client refuse a server that presents another SPIFFE ID', async () => {
      const credentials = grpcClientCredentials({
        trustAnchorsPem: () => bundle.rootPem,
        serverId: { ...serverId, appId: 'dapr-operator' },
        source: new StaticSvidSource(clientSvid),
      });
      await expect(call(port, credentials)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    });
  });

  describe('when the server SVID rotates to a new root', () => {
    it('presents the new certificate to new connections without a restart', async () => {
      const source = new StaticSvidSource(serverSvid);
      const { server, port } = await startServer(source, false);
      try {
        const trustingOld = () => grpcClientCredentials({ trustAnchorsPem: () => bundle.rootPem, serverId });
        await expect(call(port, trustingOld())).resolves.toBe('anonymous');

        const next = await createTestTrustBundle();
        source.set(await issueTestSvid(next, serverId));
        const trustingNew = grpcClientCredentials({ trustAnchorsPem: () => next.rootPem, serverId });
        await expect(call(port, trustingNew)).resolves.toBe('anonymous');
        await expect(call(port, trustingOld())).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      } finally {
        server.forceShutdown();
      }
    });
  });
});

describe('grpcClientChannelOptions', () => {
  describe('when the target host is an IP address', () => {
    it('names the server by its SPIFFE ID as a DNS name, for every way of writing the target', () => {
      const name = { 'grpc.ssl_target_name_override': 'dapr-sentry.dapr-system.svc' };
      for (const address of ['127.0.0.1:50001', '[::1]:50001', 'dns:///10.0.0.7:443', 'ipv4:10.0.0.7:443', '::1']) {
        expect([address, grpcClientChannelOptions(address, serverId)]).toEqual([address, name]);
      }
      expect(grpcClientChannelOptions('127.0.0.1:1', { trustDomain: 'public', namespace: 'Shop_1', appId: 'my.App' })).toEqual({
        'grpc.ssl_target_name_override': 'my-app.shop-1.svc',
      });
    });

    it('sends that name as the TLS server name (SNI), not the IP address', async () => {
      const bundle = await createTestTrustBundle();
      const svid = await issueTestSvid(bundle, serverId);
      const names: Array<string | false> = [];
      const server = tls.createServer({ key: svid.keyPem, cert: svid.certChainPem, ALPNProtocols: ['h2'] }, (socket) => {
        names.push((socket as tls.TLSSocket & { servername: string | false }).servername);
        socket.destroy();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = `127.0.0.1:${(server.address() as { port: number }).port}`;
      const client = new grpc.Client(address, grpcClientCredentials({ trustAnchorsPem: () => bundle.rootPem, serverId }), grpcClientChannelOptions(address, serverId));
      try {
        client.waitForReady(Date.now() + 5000, () => undefined);
        for (let i = 0; i < 500 && names.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
        expect(names[0]).toBe('dapr-sentry.dapr-system.svc');
      } finally {
        client.close();
        await new Promise((resolve) => server.close(resolve));
      }
    });
  });

  describe('when the target host is a DNS name', () => {
    it('leaves the server name alone', () => {
      expect(grpcClientChannelOptions('dapr-sentry.dapr-system.svc.cluster.local:443', serverId)).toEqual({});
      expect(grpcClientChannelOptions('localhost:50001', serverId)).toEqual({});
    });
  });
});
