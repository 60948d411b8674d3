// Bench worker: one simulated daprd's WatchJobs streams to the scheduler, in their own process. Like daprd, all
// streams (--scheduler-job-streams, default 3) share one HTTP/2 connection, each opens with an `initial` request
// (app id, namespace, actor types) and acks every trigger with SUCCESS as soon as it has read it; the ack is
// encoded as Go encodes it, SUCCESS (0) being the default and so absent (ACK_STATUS=explicit writes the field, as
// grpc-js clients do).
//
// The client is gRPC over node:http2 directly rather than grpc-js (as bench/placement/sidecars.mjs): it reads only
// the name and id of each trigger and writes a pre-encoded ack, so the simulated sidecar, which shares the two cores
// with the scheduler and etcd, takes as little of them as it can.
//
// Driven by bench.ts over IPC. Reports {type:'ready'}, then batches {type:'triggers', at: number[], index: number[]}
// (arrival time, ms since the epoch, and the job's number from its name r<number>), and {type:'ended', error} when a
// stream ends; {cmd:'stop'} closes everything.
import http2 from 'node:http2';
import { performance } from 'node:perf_hooks';

const address = process.env['SCHEDULER_ADDRESS']!;
const streamCount = Number(process.env['STREAMS'] ?? 3);
const appId = process.env['APP_ID'] ?? 'bench';
const namespace = process.env['NAMESPACE'] ?? 'default';
const actorType = process.env['ACTOR_TYPE'] ?? 'BenchActor';
const explicitStatus = process.env['ACK_STATUS'] === 'explicit';
const path = '/dapr.proto.scheduler.v1.Scheduler/WatchJobs';
const flowControlWindow = 4 * 1024 * 1024;

const wallNow = () => performance.timeOrigin + performance.now();

function varintBytes(value: number): number[] {
  const out: number[] = [];
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
  return out;
}

function lengthDelimited(field: number, bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from([(field << 3) | 2, ...varintBytes(bytes.length)]), bytes]);
}

const str = (field: number, text: string) => lengthDelimited(field, Buffer.from(text));

function grpcFrame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out.writeUInt8(0, 0);
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

// WatchJobsRequest { initial (1): WatchJobsRequestInitial { app_id (1), namespace (2), actor_types (3) } }
const initialFrame = grpcFrame(lengthDelimited(1, Buffer.concat([str(1, appId), str(2, namespace), str(3, actorType)])));

// WatchJobsRequest { result (2): WatchJobsRequestResult { id (1) [, status (2) = SUCCESS (0)] } }
function ackFrame(id: number): Buffer {
  const result = Buffer.from([0x08, ...varintBytes(id), ...(explicitStatus ? [0x10, 0x00] : [])]);
  return grpcFrame(Buffer.concat([Buffer.from([0x12, result.length]), result]));
}

let at: number[] = [];
let index: number[] = [];
const flush = () => {
  if (at.length === 0) return;
  process.send!({ type: 'triggers', at, index });
  at = [];
  index = [];
};
setInterval(flush, 20);

/** Reads the length-prefixed gRPC messages of one response stream and hands each complete message on. */
class MessageReader {
  #pending: Buffer = Buffer.alloc(0);

  constructor(private readonly onMessage: (message: Buffer) => void) {}

  push(chunk: Buffer): void {
    let buffer = this.#pending.length ? Buffer.concat([this.#pending, chunk]) : chunk;
    while (buffer.length >= 5) {
      const length = buffer.readUInt32BE(1);
      if (buffer.length < 5 + length) break;
      this.onMessage(buffer.subarray(5, 5 + length));
      buffer = buffer.subarray(5 + length);
    }
    this.#pending = buffer.length ? Buffer.from(buffer) : Buffer.alloc(0);
  }
}

/** name (field 1, "r<number>") and id (field 2, varint) of a WatchJobsResponse. */
function readTrigger(message: Buffer): { jobIndex: number; id: number } {
  let jobIndex = -1;
  let id = 0;
  let p = 0;
  while (p < message.length) {
    const key = message[p++]!;
    const field = key >> 3;
    const wire = key & 7;
    if (wire === 0) {
      let value = 0;
      for (let shift = 1; ; shift *= 0x80) {
        const byte = message[p++]!;
        value += (byte & 0x7f) * shift;
        if (byte < 0x80) break;
      }
      if (field === 2) id = value;
    } else if (wire === 2) {
      let length = 0;
      for (let shift = 1; ; shift *= 0x80) {
        const byte = message[p++]!;
        length += (byte & 0x7f) * shift;
        if (byte < 0x80) break;
      }
      if (field === 1) {
        jobIndex = 0;
        for (let i = p + 1; i < p + length; i++) jobIndex = jobIndex * 10 + (message[i]! - 0x30);
      }
      p += length;
    } else {
      throw new Error(`unexpected wire type ${wire} in a WatchJobsResponse`);
    }
  }
  return { jobIndex, id };
}

const session = http2.connect(`http://${address}`, { settings: { initialWindowSize: flowControlWindow } });
session.on('connect', () => session.setLocalWindowSize(flowControlWindow));
session.on('error', (err) => process.send!({ type: 'ended', error: `session: ${err.message}` }));
const requests: http2.ClientHttp2Stream[] = [];
for (let s = 0; s < streamCount; s++) {
  const request = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' }, { endStream: false });
  const reader = new MessageReader((message) => {
    const { jobIndex, id } = readTrigger(message);
    at.push(wallNow());
    index.push(jobIndex);
    request.write(ackFrame(id));
  });
  request.on('data', (chunk: Buffer) => reader.push(chunk));
  request.on('trailers', (trailers) => {
    if (trailers['grpc-status'] !== '0') process.send!({ type: 'ended', error: `stream ${s}: grpc-status ${trailers['grpc-status']} ${decodeURIComponent(String(trailers['grpc-message'] ?? ''))}` });
  });
  request.on('error', (err) => process.send!({ type: 'ended', error: `stream ${s}: ${err.message}` }));
  request.write(initialFrame);
  requests.push(request);
}
process.send!({ type: 'ready' });

process.on('message', (message: { cmd: string }) => {
  if (message.cmd !== 'stop') return;
  flush();
  for (const request of requests) request.close();
  session.close();
  setTimeout(() => process.exit(0), 200);
});
process.on('disconnect', () => process.exit(0));
