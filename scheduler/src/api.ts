// The Scheduler gRPC service (dapr.proto.scheduler.v1.Scheduler; docs/scheduler-spec.md §3, §5, §6). Unary calls
// read and write the job space directly (any replica serves any job); triggers leave from the job's owner over the
// WatchJobs streams sidecars keep open to every replica, which they find through WatchHosts.
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '@tapr/lib/logger';
import { callerSpiffeId } from '@tapr/lib/security/grpcTls';
import { authorize, type Caller } from './authz.js';
import { SchedulerError, unknown } from './errors.js';
import { checkKey, describeKey, jobKey, keyProblem, targetOf, targetPrefix } from './jobKey.js';
import {
  jobMetadataCodec,
  type DeleteByMetadataRequest,
  type DeleteByNamePrefixRequest,
  type JobMetadata,
  type JobRequest,
  type NamedJob,
  type ScheduleJobRequest,
  type WatchJobsRequest,
} from './proto.js';
import { JobSchedule, JobValidationError } from './schedule.js';
import { jobMessage, storedJobFromRequest, type JobStore } from './store.js';
import { nowInstant } from './civil.js';
import type { StreamPool } from './streams.js';
import type { SchedulerMetrics } from './metrics.js';

export interface HostsSource {
  /** Resolves at the first agreement on the partitioning (the scheduler is ready). */
  ready(): Promise<void>;
  current(): string[];
  /** Calls back at every (re-)agreement; returns the unsubscribe. */
  subscribe(listener: (hosts: string[]) => void): () => void;
}

export interface SchedulerApiOptions {
  store: JobStore;
  pool: StreamPool;
  hosts: HostsSource;
  metrics: SchedulerMetrics;
  mtls: boolean;
  logger: Logger;
  /** Tests: the caller's identity without TLS. */
  callerId?: typeof callerSpiffeId;
}

type Unary<Req, Res> = grpc.handleUnaryCall<Req, Res>;
type ServerCall = grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>;

export class SchedulerApi {
  readonly #closing = new AbortController();
  readonly #watchers = new Set<grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>>();

  constructor(private readonly options: SchedulerApiOptions) {}

  /** Ends every open stream with Dapr's "server is closing". */
  close(): void {
    this.#closing.abort();
    for (const call of this.#watchers) call.emit('error', { code: grpc.status.UNKNOWN, details: 'server is closing' });
    this.#watchers.clear();
  }

  implementation(): grpc.UntypedServiceImplementation {
    return {
      ScheduleJob: this.#unary<ScheduleJobRequest, object>((call) => this.#scheduleJob(call)),
      GetJob: this.#unary<JobRequest, object>((call) => this.#getJob(call)),
      DeleteJob: this.#unary<JobRequest, object>((call) => this.#deleteJob(call)),
      ListJobs: this.#unary<{ metadata?: JobMetadata }, object>((call) => this.#listJobs(call)),
      DeleteByMetadata: this.#unary<DeleteByMetadataRequest, object>((call) => this.#deleteByMetadata(call)),
      DeleteByNamePrefix: this.#unary<DeleteByNamePrefixRequest, object>((call) => this.#deleteByNamePrefix(call)),
      WatchHosts: (call: grpc.ServerWritableStream<object, { hosts: { address: string }[] }>) => this.#watchHosts(call),
      WatchJobs: (call: grpc.ServerDuplexStream<WatchJobsRequest, Buffer>) => this.#watchJobs(call),
    };
  }

  #caller(call: ServerCall): Caller {
    const { mtls } = this.options;
    const id = (this.options.callerId ?? callerSpiffeId)(call as unknown as Parameters<typeof callerSpiffeId>[0]);
    return { mtls, id };
  }

  #unary<Req, Res>(handle: (call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>): Unary<Req, Res> {
    return (call, callback) => {
      handle(call).then(
        (response) => callback(null, response),
        (err: unknown) => callback(toStatus(err)),
      );
    };
  }

  /** Dapr holds API calls until the first agreement; the caller's deadline bounds the wait. */
  async #ready(call: ServerCall): Promise<void> {
    if (call.cancelled) throw new SchedulerError(grpc.status.UNAVAILABLE, 'call ended before the scheduler was ready');
    await this.options.hosts.ready();
  }

  async #scheduleJob(call: grpc.ServerUnaryCall<ScheduleJobRequest, object>): Promise<object> {
    await this.#ready(call);
    const { name = '', job, metadata, overwrite = false } = call.request;
    authorize(this.#caller(call), metadata ?? {});
    const target = targetOf(metadata);
    const key = jobKey(target, name);
    checkKey(key);
    const now = nowInstant();
    try {
      JobSchedule.parse(job ?? {}, now);
    } catch (err) {
      if (err instanceof JobValidationError) throw unknown(err.grpcMessage);
      throw err;
    }
    const partitionId = randomBytes(8).readBigUInt64BE().toString();
    const stored = storedJobFromRequest(job ?? {}, jobMetadataCodec.encode(metadata ?? {}), target.kind, partitionId, now);
    await this.options.store.put(key, stored, overwrite);
    this.options.metrics.created(target.kind);
    this.options.logger.debug('job scheduled', { key, overwrite });
    return {};
  }

  async #getJob(call: grpc.ServerUnaryCall<JobRequest, object>): Promise<object> {
    await this.#ready(call);
    const { name = '', metadata } = call.request;
    authorize(this.#caller(call), metadata ?? {});
    const key = jobKey(targetOf(metadata), name);
    checkKey(key);
    const stored = await this.options.store.get(key);
    if (!stored) throw new SchedulerError(grpc.status.NOT_FOUND, `job not found: ${name}`);
    return { job: jobMessage(stored) };
  }

  async #deleteJob(call: grpc.ServerUnaryCall<JobRequest, object>): Promise<object> {
    await this.#ready(call);
    const { name = '', metadata } = call.request;
    authorize(this.#caller(call), metadata ?? {});
    const key = jobKey(targetOf(metadata), name);
    checkKey(key);
    await this.options.store.delete(key);
    return {};
  }

  async #listJobs(call: grpc.ServerUnaryCall<{ metadata?: JobMetadata }, object>): Promise<object> {
    await this.#ready(call);
    const { metadata } = call.request;
    authorize(this.#caller(call), metadata ?? {});
    const prefix = targetPrefix(targetOf(metadata));
    const jobs: NamedJob[] = (await this.options.store.list(prefix)).map(({ key, value }) => ({ ...describeKey(key), job: jobMessage(value) }));
    return { jobs };
  }

  async #deleteByMetadata(call: grpc.ServerUnaryCall<DeleteByMetadataRequest, object>): Promise<object> {
    const { metadata, idPrefixMatch = false } = call.request;
    const prefix = wrapped('failed to parse metadata', () => {
      authorize(this.#caller(call), metadata ?? {});
      return targetPrefix(targetOf(metadata), !idPrefixMatch);
    });
    await this.#ready(call);
    await this.#deletePrefix(prefix);
    return {};
  }

  async #deleteByNamePrefix(call: grpc.ServerUnaryCall<DeleteByNamePrefixRequest, object>): Promise<object> {
    const { metadata, namePrefix = '' } = call.request;
    const prefix = wrapped('failed to parse metadata', () => {
      authorize(this.#caller(call), metadata ?? {});
      return targetPrefix(targetOf(metadata)) + namePrefix;
    });
    await this.#ready(call);
    await this.#deletePrefix(prefix);
    return {};
  }

  async #deletePrefix(prefix: string): Promise<void> {
    // go-etcd-cron validates a prefix as a name would be (with a character appended, so it may end in a separator).
    const problem = keyProblem(prefix + 'a');
    if (problem) throw unknown(`failed to delete jobs by prefix: ${problem}`);
    await this.options.store.deletePrefix(prefix);
  }

  #watchHosts(call: grpc.ServerWritableStream<object, { hosts: { address: string }[] }>): void {
    const { hosts } = this.options;
    this.#watchers.add(call);
    let unsubscribe = () => {};
    const end = () => {
      unsubscribe();
      this.#watchers.delete(call);
    };
    call.on('cancelled', end);
    call.on('close', end);
    void hosts.ready().then(() => {
      if (call.cancelled || this.#closing.signal.aborted) return;
      const send = (list: string[]) => call.write({ hosts: list.map((address) => ({ address })) });
      send(hosts.current());
      unsubscribe = hosts.subscribe(send);
    });
  }

  #watchJobs(call: grpc.ServerDuplexStream<WatchJobsRequest, Buffer>): void {
    const { pool, logger } = this.options;
    let stream: ReturnType<StreamPool['add']> | undefined;
    let opening = false;
    const fail = (err: unknown) => {
      close();
      call.emit('error', toStatus(err));
    };
    const close = () => {
      this.#watchers.delete(call);
      if (stream) {
        pool.remove(stream);
        logger.info('sidecar disconnected', { appId: stream.registration.appId, namespace: stream.registration.namespace });
        stream = undefined;
      }
    };
    this.#watchers.add(call);
    call.on('cancelled', close);
    call.on('error', close);
    call.on('end', () => {
      close();
      call.end();
    });
    call.on('data', (message: WatchJobsRequest) => {
      try {
        if (!stream && !opening) {
          opening = true;
          const initial = message.initial;
          if (!initial) throw unknown('initial request is required on stream connection');
          authorize(this.#caller(call), initial);
          const types = (initial.acceptJobTypes ?? []).map(jobTargetTypeName);
          const seen = new Set<string>();
          for (const type of types) {
            if (seen.has(type)) throw unknown(`duplicate target type specified: ${type}`);
            seen.add(type);
          }
          const acceptAll = types.length === 0;
          const registration = {
            namespace: initial.namespace!,
            appId: initial.appId!,
            acceptJobs: acceptAll || seen.has('JOB_TARGET_TYPE_JOB'),
            actorTypes: acceptAll || seen.has('JOB_TARGET_TYPE_ACTOR_REMINDER') ? [...(initial.actorTypes ?? [])] : [],
          };
          void this.options.hosts.ready().then(() => {
            if (call.cancelled || this.#closing.signal.aborted || !this.#watchers.has(call)) return;
            stream = pool.add(registration, { send: (response) => call.write(response) });
            logger.info('sidecar connected', { ...registration });
          });
          return;
        }
        if (!stream) throw unknown('a result arrived before the stream was registered');
        const result = message.result;
        const status = result ? resultStatusName(result.status) : undefined;
        if (!result || (status !== 'SUCCESS' && status !== 'FAILED') || !stream.acknowledge(Number(result.id ?? 0), status)) {
          // Dapr closes a stream that acknowledges what it was not sent, or sends no result (spec §5.3).
          throw new SchedulerError(grpc.status.CANCELLED, `unexpected message on the job stream: ${JSON.stringify(message)}`);
        }
      } catch (err) {
        fail(err);
      }
    });
  }
}

function jobTargetTypeName(value: string | number): string {
  if (typeof value === 'string') return value;
  return ['JOB_TARGET_TYPE_JOB', 'JOB_TARGET_TYPE_ACTOR_REMINDER'][value] ?? String(value);
}

function resultStatusName(value: string | number | undefined): string | undefined {
  // proto3 leaves a zero value off the wire: Go's daprd acks SUCCESS (0) with no status field at all.
  if (value === undefined) return 'SUCCESS';
  if (typeof value === 'string') return value;
  return ['SUCCESS', 'FAILED'][value];
}

function wrapped<T>(context: string, run: () => T): T {
  try {
    return run();
  } catch (err) {
    const status = toStatus(err);
    throw new SchedulerError(status.code, `${context}: rpc error: code = ${goCodeName(status.code)} desc = ${status.details}`);
  }
}

/** Go's name of a status code (PERMISSION_DENIED → PermissionDenied), as grpc-go prints wrapped statuses. */
function goCodeName(code: grpc.status): string {
  return (grpc.status[code] ?? String(code))
    .toLowerCase()
    .replace(/(^|_)([a-z])/g, (_m, _u, c: string) => c.toUpperCase());
}

/** Never Canceled for a real failure: daprd retries Canceled unary calls forever (spec §3). */
function toStatus(err: unknown): { code: grpc.status; details: string } {
  if (err instanceof SchedulerError) return { code: err.code, details: err.message };
  const message = err instanceof Error ? err.message : String(err);
  return { code: grpc.status.UNKNOWN, details: message };
}
