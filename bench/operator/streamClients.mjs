// The sidecar side of the delivery benchmark, in its own process: opens N ComponentUpdate streams, each over its
// own TLS connection (as N sidecars would), and tells the parent when every stream has seen update number `seq`.
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { grpcClientCredentials, protos, StaticSvidSource } from '@tapr/lib';

const { port, count, namespace, serverNamespace, bundleFile } = JSON.parse(process.argv[2]);
const { rootPem, svids } = JSON.parse(readFileSync(bundleFile, 'utf8'));
const now = () => performance.timeOrigin + performance.now();

const seen = new Map(); // seq -> { count, first, last }
const streams = [];
for (let i = 0; i < count; i++) {
  const svid = svids[i % svids.length];
  const credentials = grpcClientCredentials({
    trustAnchorsPem: () => rootPem,
    serverId: { trustDomain: 'cluster.local', namespace: serverNamespace, appId: 'dapr-operator' },
    source: new StaticSvidSource({ ...svid, notBefore: new Date(svid.notBefore), notAfter: new Date(svid.notAfter) }),
  });
  const client = new protos.operatorGrpc.OperatorClient(`127.0.0.1:${port}`, credentials, { 'grpc.use_local_subchannel_pool': 1 });
  const request = new protos.operator.ComponentUpdateRequest();
  request.setNamespace(namespace);
  request.setPodname(`bench-${i}`);
  const stream = client.componentUpdate(request);
  stream.on('data', (event) => {
    const at = now();
    const component = JSON.parse(Buffer.from(event.getComponent_asU8()).toString());
    const seq = Number(component.spec.metadata.find((m) => m.name === 'seq')?.value);
    let entry = seen.get(seq);
    if (!entry) {
      entry = { count: 0, first: at, last: at };
      seen.set(seq, entry);
    }
    entry.count++;
    entry.last = at;
    if (entry.count === count) process.send({ type: 'delivered', seq, first: entry.first, last: entry.last });
  });
  stream.on('error', (error) => {
    if (error.code !== grpc.status.CANCELLED) process.send({ type: 'error', message: error.message });
  });
  streams.push({ client, stream });
}
// Response headers come with the first message, so the parent counts connected streams on the operator's side.
process.send({ type: 'started', count });
process.on('message', (message) => {
  if (message === 'stop') {
    for (const { client, stream } of streams) {
      stream.cancel();
      client.close();
    }
    process.exit(0);
  }
});
