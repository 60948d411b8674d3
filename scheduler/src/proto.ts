// dapr.proto.scheduler.v1 as @dapr/dapr 3.18.0 ships it. The package's generated google-protobuf stubs for the
// scheduler cannot load (scheduler_pb.js extends `proto` with common_pb.js, which that release generates with
// protobuf-es instead: "ReferenceError: proto is not defined"), so the service is built from the package's own
// `.proto` files with @grpc/proto-loader. The interfaces below are the shapes proto-loader produces with the
// options used here (camelCase fields, int64 as strings, enums as names, unset optional fields absent).
import { createRequire } from 'node:module';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync, type MessageTypeDefinition } from '@grpc/proto-loader';
import protobuf from 'protobufjs/minimal.js';

const require = createRequire(import.meta.url);
const protoRoot = path.join(path.dirname(require.resolve('@dapr/dapr/package.json')), 'proto');

const definition = loadSync('dapr/proto/scheduler/v1/scheduler.proto', {
  includeDirs: [protoRoot],
  keepCase: false,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
});

interface SchedulerPackage {
  dapr: { proto: { scheduler: { v1: { Scheduler: grpc.ServiceClientConstructor } } } };
}
const loaded = grpc.loadPackageDefinition(definition) as unknown as SchedulerPackage;

/** The Scheduler service as clients (tests, the bench) dial it. */
export const SchedulerClient = loaded.dapr.proto.scheduler.v1.Scheduler;

const watchJobs = SchedulerClient.service['WatchJobs']!;
/**
 * What the server implements: the same service, except that WatchJobs also sends triggers already encoded
 * (`triggerMessage`), so a job's name, data and metadata are encoded once, not converted and encoded per trigger.
 */
export const schedulerService: grpc.ServiceDefinition = {
  ...SchedulerClient.service,
  WatchJobs: {
    ...watchJobs,
    responseSerialize: (message: WatchJobsResponse | Buffer) => (Buffer.isBuffer(message) ? message : watchJobs.responseSerialize(message)),
  },
};

/** google.protobuf.Any as proto-loader gives it: bytes passed through untouched. */
export interface Any {
  type_url?: string;
  value?: Buffer | Uint8Array;
}

export interface Duration {
  seconds?: string | number;
  nanos?: number;
}

export interface FailurePolicy {
  drop?: Record<string, never>;
  constant?: { interval?: Duration; maxRetries?: number };
  policy?: 'drop' | 'constant';
}

export interface Job {
  schedule?: string;
  repeats?: number;
  dueTime?: string;
  ttl?: string;
  data?: Any;
  failurePolicy?: FailurePolicy;
}

export interface JobMetadata {
  appId?: string;
  namespace?: string;
  target?: { job?: Record<string, never>; actor?: { id?: string; type?: string }; type?: 'job' | 'actor' };
}

export type JobTargetType = 'JOB_TARGET_TYPE_JOB' | 'JOB_TARGET_TYPE_ACTOR_REMINDER';
export type ResultStatus = 'SUCCESS' | 'FAILED';

export interface WatchJobsRequest {
  initial?: { appId?: string; namespace?: string; actorTypes?: string[]; acceptJobTypes?: (JobTargetType | number)[] };
  result?: { id?: string | number; status?: ResultStatus | number };
  watchJobRequestType?: 'initial' | 'result';
}

export interface WatchJobsResponse {
  name: string;
  id: string | number;
  data?: Any;
  metadata?: JobMetadata;
}

export interface NamedJob {
  name: string;
  metadata: JobMetadata;
  job: Job;
}

export interface ScheduleJobRequest {
  name?: string;
  job?: Job;
  metadata?: JobMetadata;
  overwrite?: boolean;
}
export interface JobRequest {
  name?: string;
  metadata?: JobMetadata;
}
export interface DeleteByMetadataRequest {
  metadata?: JobMetadata;
  idPrefixMatch?: boolean;
}
export interface DeleteByNamePrefixRequest {
  namePrefix?: string;
  metadata?: JobMetadata;
}

/** A message's field numbers by (camelCase) name, from the loaded descriptor rather than written down here. */
function fieldNumbers(typeName: string): Record<string, number> {
  const type = definition[typeName] as MessageTypeDefinition<object, object>;
  const fields = (type.type as { field: { name: string; number: number }[] }).field;
  return Object.fromEntries(fields.map((f) => [f.name.replace(/_(\w)/g, (_, c: string) => c.toUpperCase()), f.number]));
}
const varint = 0;
const lengthDelimited = 2;
/** Field tags (number and wire type), worked out once: a missing field fails at start-up, not on a trigger. */
function tags<F extends string>(typeName: string, wireTypes: Record<F, number>): Record<F, number> {
  const numbers = fieldNumbers(typeName);
  return Object.fromEntries(
    Object.entries<number>(wireTypes).map(([name, wireType]) => {
      const field = numbers[name];
      if (field === undefined) throw new Error(`${typeName} in @dapr/dapr has no field ${name}; is the pinned version installed?`);
      return [name, (field << 3) | wireType];
    }),
  ) as Record<F, number>;
}
const responseTag = tags('dapr.proto.scheduler.v1.WatchJobsResponse', { name: lengthDelimited, id: varint, data: lengthDelimited, metadata: lengthDelimited });
const anyTag = tags('google.protobuf.Any', { typeUrl: lengthDelimited, value: lengthDelimited });

/**
 * A trigger's WatchJobsResponse without its id: the job's name, data and serialized metadata (as stored), encoded
 * once per job. A protobuf message is the concatenation of its fields, so `triggerMessage` completes it by putting
 * the id field in front, and an embedded message is written as the bytes it serializes to.
 */
export function encodeTriggerBody(name: string, data: Any | undefined, metadata: Uint8Array): Buffer {
  const writer = protobuf.Writer.create();
  writer.uint32(responseTag.name).string(name);
  if (data) {
    writer.uint32(responseTag.data).fork();
    if (data.type_url) writer.uint32(anyTag.typeUrl).string(data.type_url);
    if (data.value && data.value.length > 0) writer.uint32(anyTag.value).bytes(data.value);
    writer.ldelim();
  }
  writer.uint32(responseTag.metadata).bytes(metadata);
  return Buffer.from(writer.finish());
}

/** The WatchJobsResponse for trigger `id` of a job whose body `encodeTriggerBody` made. */
export function triggerMessage(id: number, body: Buffer): Buffer {
  const head = protobuf.Writer.create().uint32(responseTag.id).uint64(id).finish();
  return Buffer.concat([head, body]);
}

/** JobMetadata serialized, as the scheduler stores it and sends it back with each trigger. */
const jobMetadataType = definition['dapr.proto.scheduler.v1.JobMetadata'] as MessageTypeDefinition<JobMetadata, JobMetadata>;
export const jobMetadataCodec = {
  encode: (metadata: JobMetadata): Buffer => jobMetadataType.serialize(metadata),
  decode: (bytes: Buffer): JobMetadata => jobMetadataType.deserialize(bytes) as JobMetadata,
};
