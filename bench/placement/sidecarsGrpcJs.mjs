// The grpc-js variant of sidecars.mjs (CLIENT=grpc-js in bench.mjs), kept for comparison: the same streams and acks,
// but every order goes through grpc-js, which assembles each table into a new buffer before handing it over.
//
// Bench worker: many simulated daprd placement streams in one process, multiplexed over a few HTTP/2
// connections (the box has 2 cores; 5,000 real sidecars would be 5,000 processes). Each stream behaves like
// daprd: REPORT on open, ack lock/update/unlock with the version. Orders are read as raw bytes and only their
// operation and version are decoded (google-protobuf's BinaryReader), so the worker spends its CPU on the wire,
// not on building 5,000 copies of the table; the placement server sends every host the same bytes per version.
//
// Driven by bench.mjs over IPC: {cmd:'open', hosts:[{idx,name,entities}]}, {cmd:'close', idxs}, {cmd:'stop'}.
// Reports batches of [idx, 'u'|'x', version, tableBytes, monotonicNs] (u = unlocked a version, x = stream ended).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const grpc = require('@grpc/grpc-js');
const { BinaryReader } = require('google-protobuf');
const { Host, HostOperation } = require('@dapr/dapr/proto/dapr/proto/placement/v1/placement_pb.js');

const address = process.env.PLACEMENT_ADDRESS;
const connections = Number(process.env.CONNECTIONS ?? 16);
const namespace = process.env.BENCH_NAMESPACE ?? 'bench';
const appId = 'bench';
const path = '/dapr.proto.placement.v1.Placement/ReportDaprStatus';

// Separate subchannel pools = separate TCP connections per client. HTTP/2 windows: grpc-js keeps the 64 KiB
// default, which throttles a 350 KB table to one window per round trip; daprd's grpc-go grows its windows by
// bandwidth-delay estimation (up to 16 MiB), so the simulated sidecars open theirs to 4 MiB.
const flowControlWindow = Number(process.env.FLOW_CONTROL_WINDOW ?? 4 * 1024 * 1024);
const clients = Array.from({ length: connections }, () =>
  new grpc.Client(address, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
    'grpc-node.flow_control_window': flowControlWindow,
  }),
);
const streams = new Map(); // idx → call
let pending = [];
const flush = () => {
  if (pending.length) process.send({ type: 'events', events: pending });
  pending = [];
};
setInterval(flush, 20).unref();

function decodeOrder(bytes) {
  const reader = new BinaryReader(bytes);
  let operation = '';
  let version = 0;
  let tableBytes = 0;
  while (reader.nextField() && !reader.isEndGroup()) {
    switch (reader.getFieldNumber()) {
      case 1: {
        const start = reader.getCursor();
        reader.skipField();
        tableBytes = reader.getCursor() - start;
        break;
      }
      case 2:
        operation = reader.readString();
        break;
      case 3:
        version = reader.readUint64();
        break;
      default:
        reader.skipField();
    }
  }
  return { operation, version, tableBytes };
}

const serialize = (host) => Buffer.from(host.serializeBinary());
const ack = (call, operation, version) => call.write(new Host().setId(appId).setNamespace(namespace).setOperation(operation).setVersion(version));

function open({ idx, name, entities }) {
  const client = clients[idx % clients.length];
  const call = client.makeBidiStreamRequest(path, serialize, (buffer) => buffer);
  streams.set(idx, call);
  let updated = false;
  let tableBytes = 0;
  call.on('data', (bytes) => {
    const order = decodeOrder(bytes);
    if (order.operation === 'lock') {
      updated = false;
      ack(call, HostOperation.LOCK, order.version);
    } else if (order.operation === 'update') {
      updated = true;
      tableBytes = order.tableBytes;
      ack(call, HostOperation.UPDATE, order.version);
    } else if (order.operation === 'unlock' && updated) {
      pending.push([idx, 'u', order.version, tableBytes, Number(process.hrtime.bigint())]);
      ack(call, HostOperation.UNLOCK, order.version);
    }
  });
  call.on('error', () => undefined);
  call.on('status', (status) => {
    if (streams.get(idx) === call) streams.delete(idx);
    pending.push([idx, 'x', status.code, 0, Number(process.hrtime.bigint())]);
  });
  call.write(new Host().setName(name).setId(appId).setNamespace(namespace).setEntitiesList(entities).setApiLevel(20).setOperation(HostOperation.REPORT));
}

process.on('message', (message) => {
  if (message.cmd === 'open') for (const host of message.hosts) open(host);
  else if (message.cmd === 'close') {
    for (const idx of message.idxs) {
      const call = streams.get(idx);
      streams.delete(idx);
      call?.end(); // CloseSend, as daprd does when it stops
    }
  } else if (message.cmd === 'stats') {
    process.send({ type: 'stats', cpu: process.cpuUsage() });
  } else if (message.cmd === 'stop') {
    flush();
    for (const call of streams.values()) call.cancel();
    for (const client of clients) client.close();
    setTimeout(() => process.exit(0), 100);
  }
});
process.send({ type: 'ready' });
