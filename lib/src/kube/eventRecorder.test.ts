import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { KubeEventRecorder } from './eventRecorder.js';
import { KubeApiError, type KubeHttp, type RequestOptions } from './kubeHttp.js';

interface PostedEvent {
  metadata: { name: string; namespace: string };
  involvedObject: { kind?: string; name?: string };
  type: string;
  reason: string;
  message: string;
  reportingInstance: string;
}

/** An Events endpoint that refuses a second create of a name (409), or every create while `failWith` is set. */
class FakeEvents {
  readonly names = new Set<string>();
  readonly posts: PostedEvent[] = [];
  failWith: KubeApiError | undefined;

  http(): KubeHttp {
    return {
      request: async (method: string, path: string, options: RequestOptions = {}) => {
        if (method !== 'POST' || !path.endsWith('/events')) throw new Error(`unexpected ${method} ${path}`);
        if (this.failWith) throw this.failWith;
        const event = options.body as PostedEvent;
        if (this.names.has(event.metadata.name)) throw new KubeApiError(409, 'AlreadyExists', 'exists');
        this.names.add(event.metadata.name);
        this.posts.push(event);
        return event;
      },
    } as unknown as KubeHttp;
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));
const component = { apiVersion: 'dapr.io/v1alpha1', kind: 'Component', metadata: { name: 'store', namespace: 'shop', uid: 'u1', resourceVersion: '7' } };

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const logger = { ...silentLogger(), lines };
  logger.warn = (message: string) => void lines.push(`warn ${message}`);
  logger.debug = (message: string) => void lines.push(`debug ${message}`);
  return logger;
}

describe('KubeEventRecorder', () => {
  describe('when the same report is made twice', () => {
    it('posts one Event on the object, and a second replica making it meets AlreadyExists quietly', async () => {
      const api = new FakeEvents();
      const logger = recordingLogger();
      const a = new KubeEventRecorder({ http: api.http(), logger, component: 'dapr-operator', instance: 'a' });
      const b = new KubeEventRecorder({ http: api.http(), logger, component: 'dapr-operator', instance: 'b' });
      a.warning(component, 'InvalidComponent', 'spec.type is missing');
      a.warning(component, 'InvalidComponent', 'spec.type is missing');
      b.warning(component, 'InvalidComponent', 'spec.type is missing');
      await settle();
      expect(api.posts).toHaveLength(1);
      expect(api.posts[0]).toMatchObject({
        metadata: { namespace: 'shop' },
        involvedObject: { kind: 'Component', name: 'store' },
        type: 'Warning',
        reason: 'InvalidComponent',
        reportingInstance: 'a',
      });
      expect(logger.lines).toEqual([]);
    });
  });

  describe('when the object changes or the report differs', () => {
    it('posts a new Event', async () => {
      const api = new FakeEvents();
      const recorder = new KubeEventRecorder({ http: api.http(), logger: silentLogger(), component: 'c', instance: 'i' });
      recorder.warning(component, 'InvalidComponent', 'one');
      recorder.warning({ ...component, metadata: { ...component.metadata, resourceVersion: '8' } }, 'InvalidComponent', 'one');
      recorder.record(component, 'Normal', 'InvalidComponent', 'one');
      recorder.warning(component, 'InvalidComponent', 'two');
      await settle();
      expect(api.posts.map((e) => `${e.type}/${e.message}`)).toEqual(['Warning/one', 'Warning/one', 'Normal/one', 'Warning/two']);
    });
  });

  describe('when repeatMs has passed', () => {
    it('posts the same report again (the first Event has expired by then)', async () => {
      const api = new FakeEvents();
      let now = Date.parse('2030-01-01T00:00:00Z');
      const recorder = new KubeEventRecorder({ http: api.http(), logger: silentLogger(), component: 'c', instance: 'i', repeatMs: 1000, now: () => new Date(now) });
      const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'dapr-trust-bundle', namespace: 'dapr-system' } };
      recorder.record(secret, 'Warning', 'Expiring', 'soon');
      await settle();
      now += 999;
      recorder.record(secret, 'Warning', 'Expiring', 'soon');
      await settle();
      expect(api.posts).toHaveLength(1);
      api.names.clear(); // the API server expired it
      now += 1;
      recorder.record(secret, 'Warning', 'Expiring', 'soon');
      await settle();
      expect(api.posts).toHaveLength(2);
    });
  });

  describe('when the API server refuses', () => {
    it('warns once with the hint, logs later failures at debug, and tries the report again next time', async () => {
      const api = new FakeEvents();
      const logger = recordingLogger();
      const recorder = new KubeEventRecorder({ http: api.http(), logger, component: 'c', instance: 'i', failureHint: 'needs create on events' });
      api.failWith = new KubeApiError(403, 'Forbidden', 'events is forbidden');
      recorder.warning(component, 'R', 'one');
      await settle();
      recorder.warning(component, 'R', 'one');
      await settle();
      expect(logger.lines).toEqual(['warn cannot record a Kubernetes Event', 'debug cannot record a Kubernetes Event']);
      api.failWith = undefined;
      recorder.warning(component, 'R', 'one');
      await settle();
      expect(api.posts).toHaveLength(1);
    });
  });
});
