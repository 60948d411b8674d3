import { jobMetadataCodec, encodeTriggerBody, schedulerService, SchedulerClient, triggerMessage, type WatchJobsResponse } from './proto.js';

// What a sidecar decodes: the client's deserializer for WatchJobs, i.e. @dapr/dapr's own WatchJobsResponse.
const decode = (bytes: Buffer) => SchedulerClient.service['WatchJobs']!.responseDeserialize(bytes) as WatchJobsResponse;

describe('pre-encoded trigger messages', () => {
  const metadata = { appId: 'app1', namespace: 'ns1', target: { actor: { type: 'Robot', id: 'r2' } } };
  const data = { type_url: 'type.googleapis.com/google.protobuf.StringValue', value: Buffer.from([10, 2, 104, 105]) };

  test.each([1, 127, 128, 300, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER])('decode as the message with id %d', (id) => {
    const body = encodeTriggerBody('wake-up', data, jobMetadataCodec.encode(metadata));
    const decoded = decode(triggerMessage(id, body));
    expect(decoded).toEqual({ name: 'wake-up', id: String(id), data, metadata: { ...metadata, target: { ...metadata.target, type: 'actor' } } });
  });

  test('data with an empty value keeps its type url; data with neither field is present and empty', () => {
    const onlyType = decode(triggerMessage(2, encodeTriggerBody('a', { type_url: 't' }, Buffer.alloc(0))));
    expect(onlyType.data).toEqual({ type_url: 't' });
    const empty = decode(triggerMessage(2, encodeTriggerBody('a', { type_url: '', value: Buffer.alloc(0) }, Buffer.alloc(0))));
    expect(empty.data).toEqual({});
  });

  test('a job without data or metadata fields still carries name, id and an empty metadata', () => {
    const decoded = decode(triggerMessage(9, encodeTriggerBody('j', undefined, jobMetadataCodec.encode({}))));
    expect(decoded).toEqual({ name: 'j', id: '9', metadata: {} });
  });

  test('the server serializes buffers as they are and objects as the protocol says', () => {
    const serialize = schedulerService['WatchJobs']!.responseSerialize;
    const bytes = triggerMessage(3, encodeTriggerBody('x', undefined, Buffer.alloc(0)));
    expect(serialize(bytes)).toBe(bytes);
    expect(decode(serialize({ name: 'x', id: 4 }))).toEqual({ name: 'x', id: '4' });
  });
});
