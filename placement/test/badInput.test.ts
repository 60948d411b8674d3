// Sidecars that misbehave — wrong identity, malformed reports, a name another app holds, too many actor types,
// a stream that stops reading — each get a clear gRPC status and leave a log line; the others carry on.
import * as grpc from '@grpc/grpc-js';
import http2 from 'node:http2';
import { grpcClientCredentials, protos } from '@tapr/lib';
import { issueTestSvid, waitFor } from '@tapr/lib/testing';
import { placementId, startPlacement, type RunningPlacement } from './harness.js';
import { SimulatedSidecar } from './simulatedSidecar.js';

/**
 * A client that sends its REPORT and then never reads: a raw HTTP/2 stream, paused before any data arrives, so
 * flow control stops the server's writes (a grpc-js client would buffer a few messages in memory first).
 */
async function openNonReadingStream(placement: RunningPlacement, host: { name: string; id: string; namespace: string; entities: string[] }) {
  const svid = await issueTestSvid(placement.bundle, { trustDomain: 'public', namespace: host.namespace, appId: host.id });
  const session = http2.connect(`https://${placement.address}`, {
    ca: placement.bundle.rootPem,
    key: svid.keyPem,
    cert: svid.certChainPem,
    checkServerIdentity: () => undefined,
  });
  session.on('error', () => undefined);
  const stream = session.request({
    ':method': 'POST',
    ':path': '/dapr.proto.placement.v1.Placement/ReportDaprStatus',
    'content-type': 'application/grpc',
    te: 'trailers',
  });
  stream.pause();
  stream.on('error', () => undefined);
  const message = new protos.placement.Host()
    .setName(host.name)
    .setId(host.id)
    .setNamespace(host.namespace)
    .setEntitiesList(host.entities)
    .setApiLevel(20)
    .setOperation(protos.placement.HostOperation.REPORT)
    .serializeBinary();
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  stream.write(frame);
  const reset = new Promise<number>((resolve) => stream.on('close', () => resolve(stream.rstCode ?? -1)));
  reset.finally(() => session.close()).catch(() => undefined);
  return { reset };
}

const ended = (sidecar: SimulatedSidecar) => waitFor(() => sidecar.lastStatus, { what: `${sidecar.options.name}'s stream to end`, timeoutMs: 10_000 });

describe('placement with misbehaving sidecars', () => {
  let placement: RunningPlacement;

  beforeAll(async () => {
    placement = await startPlacement([
      '--dissemination-batch-quiet-period=100ms',
      '--dissemination-batch-max-delay=500ms',
      '--settle-quiet-period=100ms',
      // Long, so that only the stall detector can explain a fast recovery from a stream that stops reading.
      '--disseminate-timeout=30s',
      '--stream-send-timeout=1s',
    ]);
  });
  afterAll(async () => {
    await placement.stop();
  });

  describe('when the report does not match the client certificate', () => {
    it('refuses another app ID with PermissionDenied', async () => {
      const sidecar = await placement.sidecar({ name: '10.9.0.1:50002', id: 'orders', namespace: 'authz', entities: ['counter'], identity: { namespace: 'authz', appId: 'billing' } });
      expect(await ended(sidecar)).toMatchObject({
        code: grpc.status.PERMISSION_DENIED,
        details: "provided app ID orders doesn't match the one in the SPIFFE ID (billing)",
      });
      expect(placement.logs.matching(/refusing a host report.*code=permission-denied/).length).toBeGreaterThan(0);
    });

    it('refuses another namespace with PermissionDenied', async () => {
      const sidecar = await placement.sidecar({ name: '10.9.0.2:50002', id: 'orders', namespace: 'authz', entities: ['counter'], identity: { namespace: 'elsewhere', appId: 'orders' } });
      expect(await ended(sidecar)).toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: expect.stringContaining('namespace authz') });
    });

    it('refuses internal actor types of another app with PermissionDenied', async () => {
      const sidecar = await placement.sidecar({ name: '10.9.0.3:50002', id: 'orders', namespace: 'authz', entities: ['dapr.internal.authz.billing.workflow'] });
      expect(await ended(sidecar)).toMatchObject({
        code: grpc.status.PERMISSION_DENIED,
        details: 'entity dapr.internal.authz.billing.workflow is not allowed for app ID orders in namespace authz',
      });
    });

    it('accepts its own internal actor types', async () => {
      const sidecar = await placement.sidecar({ name: '10.9.0.4:50002', id: 'orders', namespace: 'authz', entities: ['dapr.internal.authz.orders.workflow'] });
      await waitFor(() => sidecar.hostsOf('dapr.internal.authz.orders.workflow').length === 1, { what: 'the workflow actor type in the table' });
    });
  });

  describe('when the client presents no certificate', () => {
    it('fails the TLS handshake (UNAVAILABLE)', async () => {
      const credentials = grpcClientCredentials({ trustAnchorsPem: () => placement.bundle.rootPem, serverId: placementId });
      const sidecar = new SimulatedSidecar({ addresses: [placement.address], credentials, serverId: placementId, name: '10.9.1.1:50002', id: 'orders', namespace: 'authz', entities: [] });
      placement.sidecars.push(sidecar);
      sidecar.start();
      expect((await ended(sidecar)).code).toBe(grpc.status.UNAVAILABLE);
    });
  });

  describe('when a report is malformed', () => {
    it('refuses a report with no name with InvalidArgument', async () => {
      const sidecar = await placement.sidecar({ name: '', id: 'orders', namespace: 'malformed', entities: ['counter'] });
      expect(await ended(sidecar)).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining('host name must be provided (field name') });
    });

    it('refuses an oversized actor-type list with InvalidArgument', async () => {
      const entities = Array.from({ length: 1001 }, (_, i) => `type-${i}`);
      const sidecar = await placement.sidecar({ name: '10.9.2.2:50002', id: 'orders', namespace: 'malformed', entities });
      expect(await ended(sidecar)).toMatchObject({
        code: grpc.status.INVALID_ARGUMENT,
        details: 'host 10.9.2.2:50002 reports 1001 actor types (field entities); at most 1000 are accepted',
      });
    });

    it('refuses an ack that carries a version but no operation', async () => {
      const sidecar = await placement.sidecar({ name: '10.9.2.3:50002', id: 'orders', namespace: 'malformed', entities: [] });
      await waitFor(() => sidecar.readyVersion !== undefined, { what: 'the one-shot table' });
      sidecar.sendRaw(new protos.placement.Host().setId('orders').setNamespace('malformed').setVersion(7));
      expect(await ended(sidecar)).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: 'both operation and version must be set or both must be unset' });
    });
  });

  describe('when a second app reports a host name already in the table', () => {
    it('refuses it with AlreadyExists and keeps the first', async () => {
      const first = await placement.sidecar({ name: '10.9.3.1:50002', id: 'orders', namespace: 'dup', entities: ['counter'] });
      await waitFor(() => first.hostsOf('counter').length === 1, { what: 'the first host in the table' });
      const second = await placement.sidecar({ name: '10.9.3.1:50002', id: 'billing', namespace: 'dup', entities: ['counter'] });
      expect(await ended(second)).toMatchObject({
        code: grpc.status.ALREADY_EXISTS,
        details: 'host name 10.9.3.1:50002 is already registered by app orders in namespace dup; app billing cannot report it',
      });
      expect(first.lastStatus).toBeUndefined();
      expect(first.table?.entries['counter']?.['10.9.3.1:50002']?.id).toBe('orders');
      expect(placement.logs.matching(/refusing a duplicate host name/).length).toBe(1);
    });
  });

  describe('when a sidecar stops reading its stream', () => {
    it('drops it with ResourceExhausted long before the dissemination timeout, and the others get their table', async () => {
      const ns = 'stall';
      // 300 actor types make a table of ~0.5 MB: more than HTTP/2 flow control lets through unread.
      const types = Array.from({ length: 300 }, (_, i) => `type-${String(i).padStart(3, '0')}`);
      const big = await placement.sidecar({ name: '10.9.4.1:50002', id: 'orders', namespace: ns, entities: types });
      await waitFor(() => big.hostsOf('type-000').length === 1, { what: 'the big host in the table' });

      const started = Date.now();
      const stalled = await openNonReadingStream(placement, { name: '10.9.4.2:50002', id: 'orders', namespace: ns, entities: ['counter'] });
      const other = await placement.sidecar({ name: '10.9.4.3:50002', id: 'orders', namespace: ns, entities: ['counter'] });

      expect(await stalled.reset).toBe(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM); // RESOURCE_EXHAUSTED to a gRPC client
      await waitFor(
        () => big.hostsOf('counter').join() === '10.9.4.3:50002' && other.hostsOf('counter').join() === '10.9.4.3:50002' && big.readyVersion === other.readyVersion,
        { what: 'a table without the stalled host', timeoutMs: 10_000 },
      );
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(placement.logs.matching(/dropping a stream that does not read/).length).toBe(1);
      expect(await placement.metric('dapr_placement_streams_dropped_total', { host_namespace: ns, reason: 'resource-exhausted' })).toBe(1);
    });
  });
});
