import { silentLogger } from '../logger.js';
import { KubeApiError, type KubeHttp, type RequestOptions } from './kubeHttp.js';
import { LeaderElector, type LeaderTerm, type LeaseSpec } from './leaderElection.js';

/** An in-memory Lease endpoint with resourceVersion conflicts, like the API server's. */
class FakeLeases {
  lease: { metadata: { name: string; namespace: string; resourceVersion: string; annotations?: Record<string, string> }; spec: LeaseSpec } | undefined;
  version = 0;
  writes: string[] = [];

  http(): KubeHttp {
    return {
      request: async (method: string, _path: string, options: RequestOptions = {}) => {
        const body = options.body as { metadata: { name: string; namespace: string; resourceVersion?: string }; spec: LeaseSpec };
        if (method === 'GET') {
          if (!this.lease) throw new KubeApiError(404, 'NotFound', 'not found');
          return structuredClone(this.lease);
        }
        if (method === 'POST') {
          if (this.lease) throw new KubeApiError(409, 'AlreadyExists', 'exists');
        } else if (body.metadata.resourceVersion !== this.lease?.metadata.resourceVersion) {
          throw new KubeApiError(409, 'Conflict', 'the object has been modified');
        }
        this.lease = { metadata: { ...body.metadata, resourceVersion: String(++this.version) }, spec: body.spec };
        this.writes.push(`${method} ${body.spec.holderIdentity ?? ''}`);
        return structuredClone(this.lease);
      },
    } as unknown as KubeHttp;
  }
}

const timings = { leaseDurationMs: 300, renewDeadlineMs: 200, retryPeriodMs: 30 };
const until = async (condition: () => boolean) => {
  for (let i = 0; i < 300 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!condition()) throw new Error('condition not reached');
};

describe('LeaderElector', () => {
  describe('when two replicas campaign', () => {
    it('lets one lead while it renews, and hands over at once when the leader stops gracefully', async () => {
      const leases = new FakeLeases();
      const a = new LeaderElector({ http: leases.http(), namespace: 'ns', name: 'operator.dapr.io', identity: 'a', logger: silentLogger(), ...timings });
      const b = new LeaderElector({ http: leases.http(), namespace: 'ns', name: 'operator.dapr.io', identity: 'b', logger: silentLogger(), ...timings });
      const stopA = new AbortController();
      const stopB = new AbortController();
      const aWork: string[] = [];
      const runningA = a.run(stopA.signal, async (leading) => {
        aWork.push('start');
        await new Promise((resolve) => leading.addEventListener('abort', resolve, { once: true }));
        aWork.push('stop');
      });
      await until(() => a.leading);
      const runningB = b.run(stopB.signal, async (leading) => {
        await new Promise((resolve) => leading.addEventListener('abort', resolve, { once: true }));
      });
      await new Promise((resolve) => setTimeout(resolve, 2 * timings.leaseDurationMs));
      expect(b.leading).toBe(false);
      expect(leases.lease?.spec.holderIdentity).toBe('a');

      // a stops: it releases the lease, so b does not wait for it to expire.
      const stoppedAt = Date.now();
      stopA.abort();
      await runningA;
      expect(aWork).toEqual(['start', 'stop']);
      expect(leases.lease?.spec.holderIdentity ?? '').toBe('');
      await until(() => b.leading);
      expect(Date.now() - stoppedAt).toBeLessThan(timings.leaseDurationMs);
      expect(leases.lease?.spec.leaseTransitions).toBe(1);
      stopB.abort();
      await runningB;
    });
  });

  describe('when the leader disappears without releasing the lease', () => {
    it('lets another replica take over once a lease duration has passed without renewal', async () => {
      const leases = new FakeLeases();
      const http = leases.http();
      let crashed = false;
      const crashing = {
        request: (method: string, path: string, options?: RequestOptions) =>
          crashed ? new Promise(() => undefined) : http.request(method, path, options),
      } as unknown as KubeHttp;
      const a = new LeaderElector({ http: crashing, namespace: 'ns', name: 'l', identity: 'a', logger: silentLogger(), ...timings });
      const b = new LeaderElector({ http, namespace: 'ns', name: 'l', identity: 'b', logger: silentLogger(), ...timings });
      const stopA = new AbortController();
      const stopB = new AbortController();
      const idle = (signal: AbortSignal) => new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      void a.run(stopA.signal, idle);
      await until(() => a.leading);
      const runningB = b.run(stopB.signal, idle);
      await new Promise((resolve) => setTimeout(resolve, 3 * timings.retryPeriodMs));
      const crashedAt = Date.now();
      crashed = true; // a's requests hang from now on, as if the process were gone
      await until(() => b.leading);
      expect(Date.now() - crashedAt).toBeGreaterThanOrEqual(timings.leaseDurationMs - 2 * timings.retryPeriodMs);
      expect(leases.lease?.spec.holderIdentity).toBe('b');
      // The cut-off replica stopped leading on its own, within its renew deadline: no two leaders at once.
      expect(a.leading).toBe(false);
      stopB.abort();
      await runningB;
      stopA.abort();
    });
  });

  describe('when the leader cannot renew', () => {
    it('gives up leadership after the renew deadline and stops the leader’s work', async () => {
      const leases = new FakeLeases();
      const http = leases.http();
      let broken = false;
      const failing = {
        request: (method: string, path: string, options?: RequestOptions) =>
          broken ? Promise.reject(new Error('connection refused')) : http.request(method, path, options),
      } as unknown as KubeHttp;
      const changes: boolean[] = [];
      const elector = new LeaderElector({ http: failing, namespace: 'ns', name: 'l', identity: 'a', logger: silentLogger(), onChange: (l) => changes.push(l), ...timings });
      const stop = new AbortController();
      let workStopped = false;
      const running = elector.run(stop.signal, async (leading) => {
        await new Promise((resolve) => leading.addEventListener('abort', resolve, { once: true }));
        workStopped = true;
      });
      await until(() => elector.leading);
      broken = true;
      await until(() => workStopped);
      expect(changes).toEqual([true, false]);
      stop.abort();
      await running;
    });
  });

  describe('when a leader keeps annotations on the lease', () => {
    it('writes them at every renewal, keeps them on release and hands them to the next leader', async () => {
      const leases = new FakeLeases();
      let count = 1;
      const a = new LeaderElector({ http: leases.http(), namespace: 'ns', name: 'l', identity: 'a', logger: silentLogger(), annotations: () => ({ 'example.dev/count': String(count) }), ...timings });
      const b = new LeaderElector({ http: leases.http(), namespace: 'ns', name: 'l', identity: 'b', logger: silentLogger(), ...timings });
      const idle = (signal: AbortSignal) => new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      const terms: Record<string, LeaderTerm> = {};
      const stopA = new AbortController();
      const stopB = new AbortController();
      const runningA = a.run(stopA.signal, (leading, term) => ((terms['a'] = term), idle(leading)));
      await until(() => a.leading);
      expect(terms['a']?.previousAnnotations).toEqual({});
      await until(() => leases.lease?.metadata.annotations?.['example.dev/count'] === '1');
      count = 7;
      await until(() => leases.lease?.metadata.annotations?.['example.dev/count'] === '7');
      const runningB = b.run(stopB.signal, (leading, term) => ((terms['b'] = term), idle(leading)));
      stopA.abort();
      await runningA;
      expect(leases.lease?.spec.holderIdentity ?? '').toBe('');
      expect(leases.lease?.metadata.annotations).toEqual({ 'example.dev/count': '7' });
      await until(() => b.leading);
      expect(terms['b']?.previousAnnotations).toEqual({ 'example.dev/count': '7' });
      // b writes no annotations of its own: a's stay for whoever comes next.
      await new Promise((resolve) => setTimeout(resolve, 3 * timings.retryPeriodMs));
      expect(leases.lease?.metadata.annotations).toEqual({ 'example.dev/count': '7' });
      stopB.abort();
      await runningB;
    });
  });
});
