// dapr.proto.scheduler.v1 as @dapr/dapr 3.18.0 ships it. The package's generated google-protobuf stubs for the
// scheduler cannot load (scheduler_pb.js extends `proto` with common_pb.js, which that release generates with
// protobuf-es instead: "ReferenceError: proto is not defined"), so the service is built from the package's own
// `.proto` files with @grpc/proto-loader. The interfaces below are the shapes proto-loader produces with the
// options used here (camelCase fields, int64 as strings, enums as names, unset optional fields absent).
import { createRequire } from 'node:module';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync, type MessageTypeDefinition } from '@grpc/proto-loader';

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

/** The Scheduler service: what the server implements and what test clients dial. */
export const SchedulerClient = loaded.dapr.proto.scheduler.v1.Scheduler;
export const schedulerService: grpc.ServiceDefinition = SchedulerClient.service;

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

/** JobMetadata serialized, as the scheduler stores it and sends it back with each trigger. */
const jobMetadataType = definition['dapr.proto.scheduler.v1.JobMetadata'] as MessageTypeDefinition<JobMetadata, JobMetadata>;
export const jobMetadataCodec = {
  encode: (metadata: JobMetadata): Buffer => jobMetadataType.serialize(metadata),
  decode: (bytes: Buffer): JobMetadata => jobMetadataType.deserialize(bytes) as JobMetadata,
};
