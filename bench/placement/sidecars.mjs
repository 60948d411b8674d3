// Bench worker: many simulated daprd placement streams in one process over a few HTTP/2 connections (the box has
// 2 cores; 5,000 real sidecars would be 5,000 processes). Each stream behaves like daprd on the wire: REPORT on
// open, ack lock/update/unlock with the version (real `Host` messages, encoded with @dapr/dapr's classes).
//
// The client is gRPC over node:http2 directly rather than grpc-js: it reads each order as it streams in, frame by
// frame, without assembling a copy of the message (grpc-js concatenates every 330 KB table into a new buffer and
// pays for the garbage), because here the simulated sidecars share the two cores with the server and the cheaper
// they are, the more the figures say about the server. What each stream does with an `update`:
//   - always: receives every byte of the order (its gRPC frame), then reads operation and version;
//   - with DECODE=1: also decodes the table the way daprd's placement client does (for every actor type, every
//     load_map entry's key, host name and app id — daprd reads nothing else) and counts the time spent.
// `sidecarsGrpcJs.mjs` is the same worker on grpc-js (CLIENT=grpc-js in bench.mjs), for comparison.
//
// Driven by bench.mjs over IPC: {cmd:'open', hosts:[{idx,name,entities}]}, {cmd:'close', idxs}, {cmd:'stop'}.
// Reports batches of [idx, kind, version, tableBytes, monotonicNs]: 'r' = received a whole update frame,
// 'd' = decoded it (DECODE=1), 'u' = unlocked a version (holds the table), 'x' = stream ended (version = gRPC status).
import http2 from 'node:http2';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Host, HostOperation } = require('@dapr/dapr/proto/dapr/proto/placement/v1/placement_pb.js');

const address = process.env.PLACEMENT_ADDRESS;
const connections = Number(process.env.CONNECTIONS ?? 16);
const namespace = process.env.BENCH_NAMESPACE ?? 'bench';
const decodeTables = process.env.DECODE === '1';
const appId = 'bench';
const path = '/dapr.proto.placement.v1.Placement/ReportDaprStatus';
// HTTP/2 windows: node's default is 64 KiB, which throttles a 330 KB table to one window per round trip; daprd's
// grpc-go grows its windows by bandwidth-delay estimation (up to 16 MiB), so the simulated sidecars open theirs to
// 4 MiB (stream and connection).
const flowControlWindow = Number(process.env.FLOW_CONTROL_WINDOW ?? 4 * 1024 * 1024);
// TLS_DIR (TLS=1 in bench.mjs): ca.pem, the sidecars' client certificate and key, and the server name to send.
const tls = process.env.TLS_DIR
  ? {
      ca: readFileSync(`${process.env.TLS_DIR}/ca.pem`),
      cert: readFileSync(`${process.env.TLS_DIR}/client.pem`),
      key: readFileSync(`${process.env.TLS_DIR}/client.key`),
      servername: readFileSync(`${process.env.TLS_DIR}/servername`, 'utf8').trim(),
      serverId: readFileSync(`${process.env.TLS_DIR}/server-id`, 'utf8').trim(),
    }
  : undefined;

function connect() {
  const session = tls
    ? http2.connect(`https://${address}`, {
        settings: { initialWindowSize: flowControlWindow },
        ca: tls.ca,
        cert: tls.cert,
        key: tls.key,
        servername: tls.servername,
        // The chain is verified against ca.pem; the server is identified by its SPIFFE ID, as daprd does.
        checkServerIdentity: (_host, cert) => (cert.subjectaltname?.split(', ').includes(`URI:${tls.serverId}`) ? undefined : new Error(`unexpected server ${cert.subjectaltname}`)),
      })
    : http2.connect(`http://${address}`, { settings: { initialWindowSize: flowControlWindow } });
  session.on('connect', () => session.setLocalWindowSize(flowControlWindow));
  session.on('error', () => undefined);
  return session;
}
const sessions = Array.from({ length: connections }, connect);
const streams = new Map(); // idx → http2 stream
let pending = [];
const flush = () => {
  if (pending.length) process.send({ type: 'events', events: pending });
  pending = [];
};
setInterval(flush, 20).unref();
let decodeNs = 0n;
let decodedTables = 0;
let lastDecoded;

const frame = (message) => {
  const bytes = message.serializeBinary();
  const out = Buffer.allocUnsafe(5 + bytes.length);
  out.writeUInt8(0, 0);
  out.writeUInt32BE(bytes.length, 1);
  out.set(bytes, 5);
  return out;
};
const ackFrames = new Map();
/** The ack for (operation, version): the same bytes for every stream of this worker. */
const ack = (operation, version) => {
  const key = `${operation}/${version}`;
  let bytes = ackFrames.get(key);
  if (!bytes) {
    if (ackFrames.size > 64) ackFrames.clear();
    bytes = frame(new Host().setId(appId).setNamespace(namespace).setOperation(operation).setVersion(version));
    ackFrames.set(key, bytes);
  }
  return bytes;
};

/**
 * Reads the gRPC messages of a response stream as they arrive: each is a PlacementOrder (tables = 1,
 * operation = 2, version = 3, in that order on the wire). Field 1 is only counted (with DECODE=1, gathered); the
 * few bytes after it are gathered and decoded once the message is complete.
 */
class OrderReader {
  #header = Buffer.alloc(5);
  #headerFill = 0;
  #mode = 'header'; // 'header' → 'key' (field 1's key and length, byte by byte) → 'table' → 'rest'
  #remaining = 0; // bytes of the current message still to come
  #key = [];
  #tableRemaining = 0;
  #tableBytes = 0;
  #tableChunks = [];
  #rest = [];

  constructor(onOrder) {
    this.onOrder = onOrder;
  }

  push(chunk) {
    let at = 0;
    while (at < chunk.length) {
      if (this.#mode === 'header') {
        const take = Math.min(5 - this.#headerFill, chunk.length - at);
        chunk.copy(this.#header, this.#headerFill, at, at + take);
        this.#headerFill += take;
        at += take;
        if (this.#headerFill < 5) continue;
        this.#headerFill = 0;
        this.#remaining = this.#header.readUInt32BE(1);
        this.#mode = 'key';
        this.#key = [];
        this.#tableBytes = 0;
        this.#tableChunks = [];
        this.#rest = [];
      } else if (this.#mode === 'key') {
        this.#key.push(chunk[at++]);
        this.#remaining--;
        const header = tableFieldHeader(this.#key);
        if (header === 'other') {
          this.#rest.push(Buffer.from(this.#key));
          this.#mode = 'rest';
        } else if (header !== 'incomplete') {
          this.#tableRemaining = header;
          this.#tableBytes = header;
          this.#mode = 'table';
        }
      } else {
        const table = this.#mode === 'table';
        const take = Math.min(table ? this.#tableRemaining : this.#remaining, chunk.length - at);
        const slice = chunk.subarray(at, at + take);
        if (!table) this.#rest.push(slice);
        else if (decodeTables) this.#tableChunks.push(slice);
        if (table) {
          this.#tableRemaining -= take;
          if (this.#tableRemaining === 0) this.#mode = 'rest';
        }
        this.#remaining -= take;
        at += take;
      }
      if (this.#mode !== 'header' && this.#remaining === 0) this.#finish();
    }
  }

  #finish() {
    const receivedAt = process.hrtime.bigint();
    let decodedAt;
    this.#mode = 'header';
    const rest = Buffer.concat(this.#rest);
    let operation = '';
    let version = 0;
    forEachField(rest, 0, rest.length, (field, start, end, value) => {
      if (field === 2) operation = rest.toString('latin1', start, end);
      else if (field === 3) version = value;
    });
    if (decodeTables && this.#tableChunks.length) {
      const started = process.hrtime.bigint();
      const table = decodeTable(Buffer.concat(this.#tableChunks));
      decodedAt = process.hrtime.bigint();
      decodeNs += decodedAt - started;
      decodedTables++;
      lastDecoded = { version: table.version, replicationFactor: table.replicationFactor, hosts: Object.fromEntries([...table.entries].map(([type, hosts]) => [type, hosts.length])), sample: [...table.entries.values()][0]?.[0] };
    }
    this.onOrder(operation, version, this.#tableBytes, receivedAt, decodedAt);
  }
}

/** After a field key (and length) byte: 'incomplete', 'other' (not field 1), or the length of field 1. */
function tableFieldHeader(bytes) {
  if (bytes[0] !== 0x0a) return 'other'; // field 1, wire type 2
  if (bytes.length === 1) return 'incomplete';
  let length = 0;
  for (let i = 1; i < bytes.length; i++) {
    length += (bytes[i] & 0x7f) * 2 ** (7 * (i - 1));
    if (bytes[i] < 0x80) return length;
  }
  return 'incomplete';
}

function varint(buffer, at) {
  let value = 0;
  for (let shift = 0; ; shift += 7) {
    const byte = buffer[at++];
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return [value, at];
  }
}

/** PlacementTables → { version, replicationFactor, entries: Map<actorType, Array<[key, name, id]>> }, as daprd reads it. */
function decodeTable(buffer) {
  const entries = new Map();
  let version = '';
  let replicationFactor = 0;
  forEachField(buffer, 0, buffer.length, (field, start, end, value) => {
    if (field === 1) {
      let actorType = '';
      const hosts = [];
      forEachField(buffer, start, end, (f, s, e) => {
        if (f === 1) actorType = buffer.toString('utf8', s, e);
        else if (f === 2) {
          forEachField(buffer, s, e, (tf, ts, te) => {
            if (tf !== 3) return; // load_map; hosts and sorted_set are empty since Dapr 1.13
            let key = '';
            let name = '';
            let id = '';
            forEachField(buffer, ts, te, (mf, ms, me) => {
              if (mf === 1) key = buffer.toString('utf8', ms, me);
              else if (mf === 2) {
                forEachField(buffer, ms, me, (hf, hs, he) => {
                  if (hf === 1) name = buffer.toString('utf8', hs, he);
                  else if (hf === 5) id = buffer.toString('utf8', hs, he);
                });
              }
            });
            hosts.push([key, name, id]);
          });
        }
      });
      entries.set(actorType, hosts);
    } else if (field === 2) version = buffer.toString('utf8', start, end);
    else if (field === 4) replicationFactor = value;
  });
  return { version, replicationFactor, entries };
}

/** Calls `visit(field, start, end, varintValue)` for each field of the message in buffer[from, to). */
function forEachField(buffer, from, to, visit) {
  let i = from;
  while (i < to) {
    const [key, afterKey] = varint(buffer, i);
    const wireType = key & 7;
    if (wireType === 2) {
      const [length, start] = varint(buffer, afterKey);
      visit(key >>> 3, start, start + length, 0);
      i = start + length;
    } else if (wireType === 0) {
      const [value, next] = varint(buffer, afterKey);
      visit(key >>> 3, 0, 0, value);
      i = next;
    } else if (wireType === 1) i = afterKey + 8;
    else if (wireType === 5) i = afterKey + 4;
    else throw new Error(`unexpected wire type ${wireType}`);
  }
}

function open({ idx, name, entities }) {
  const session = sessions[idx % sessions.length];
  const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
  streams.set(idx, stream);
  let updated = false;
  const reader = new OrderReader((operation, version, tableBytes, receivedAt, decodedAt) => {
    if (operation === 'lock') {
      updated = false;
      stream.write(ack(HostOperation.LOCK, version));
    } else if (operation === 'update') {
      updated = true;
      pending.push([idx, 'r', version, tableBytes, Number(receivedAt)]);
      if (decodedAt) pending.push([idx, 'd', version, tableBytes, Number(decodedAt)]);
      stream.write(ack(HostOperation.UPDATE, version));
    } else if (operation === 'unlock' && updated) {
      pending.push([idx, 'u', version, 0, Number(process.hrtime.bigint())]);
      stream.write(ack(HostOperation.UNLOCK, version));
    }
  });
  stream.on('data', (chunk) => reader.push(chunk));
  let status;
  stream.on('trailers', (trailers) => (status = Number(trailers['grpc-status'])));
  stream.on('response', (headers) => {
    if (headers['grpc-status'] !== undefined) status = Number(headers['grpc-status']);
  });
  stream.on('error', () => undefined);
  stream.on('close', () => {
    if (streams.get(idx) === stream) streams.delete(idx);
    pending.push([idx, 'x', status ?? 14, 0, Number(process.hrtime.bigint())]);
  });
  stream.write(frame(new Host().setName(name).setId(appId).setNamespace(namespace).setEntitiesList(entities).setApiLevel(20).setOperation(HostOperation.REPORT)));
}

process.on('message', (message) => {
  if (message.cmd === 'open') for (const host of message.hosts) open(host);
  else if (message.cmd === 'close') {
    for (const idx of message.idxs) {
      const stream = streams.get(idx);
      streams.delete(idx);
      stream?.end(); // CloseSend, as daprd does when it stops
    }
  } else if (message.cmd === 'stats') {
    process.send({ type: 'stats', decodedTables, decodeMs: Number(decodeNs) / 1e6, lastDecoded, cpu: process.cpuUsage() });
  } else if (message.cmd === 'stop') {
    flush();
    for (const stream of streams.values()) stream.close(http2.constants.NGHTTP2_CANCEL);
    for (const session of sessions) session.close();
    setTimeout(() => process.exit(0), 100);
  }
});
process.send({ type: 'ready' });
