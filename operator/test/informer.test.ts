// The informer against the real API server: when its connection is cut it resumes the watch from the last
// resourceVersion (no relist) and reports what changed meanwhile exactly once.
import { silentLogger } from '@tapr/lib';
import { createTestNamespace, deleteTestNamespace, kubectl, testCluster, waitFor } from '@tapr/lib/testing';
import { Informer, KubeHttp, fromKubeconfigFile, resourceSource } from '@tapr/lib/kube';
import { componentKind, type Component } from '../src/resources/kinds.js';

const component = (ns: string, name: string) => `
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: { name: ${name}, namespace: ${ns} }
spec: { type: state.in-memory, version: v1, metadata: [] }
`;

describe('Informer against the API server', () => {
  let ns: string;
  beforeAll(async () => {
    ns = await createTestNamespace('informer');
  });
  afterAll(async () => {
    await deleteTestNamespace(ns);
  });

  describe('when its connections are cut', () => {
    it('resumes the watch from its resourceVersion and reports each change once', async () => {
      const http = new KubeHttp(fromKubeconfigFile(testCluster().kubeconfig));
      const source = resourceSource<Component>(http, componentKind.type, { namespace: ns });
      const watchedFrom: string[] = [];
      const informer = new Informer<Component>({
        name: 'components',
        source: {
          list: (options) => source.list(options),
          watch: (options, onEvent) => {
            watchedFrom.push(options.resourceVersion);
            return source.watch(options, onEvent);
          },
        },
        logger: silentLogger(),
        backoff: { initialMs: 200, maxMs: 1000 },
      });
      const events: string[] = [];
      informer.on({
        added: (c) => events.push(`added ${c.metadata?.name}`),
        updated: (_p, c) => events.push(`updated ${c.metadata?.name}`),
        removed: (c) => events.push(`removed ${c.metadata?.name}`),
      });
      const controller = new AbortController();
      const running = informer.run(controller.signal);
      try {
        await informer.whenSynced();
        await kubectl(['apply', '-f', '-'], { input: component(ns, 'first') });
        await waitFor(() => events.includes('added first'), { what: 'the first component' });

        http.close(); // destroys the keep-alive sockets, the watch's included
        await kubectl(['apply', '-f', '-'], { input: component(ns, 'second') });
        await kubectl(['-n', ns, 'delete', 'component', 'first']);
        await waitFor(() => events.includes('removed first') && events.includes('added second'), { what: 'the changes made while disconnected' });

        expect(watchedFrom.length).toBeGreaterThanOrEqual(2);
        expect(watchedFrom.every((rv) => rv !== '')).toBe(true);
        expect(informer.lists).toBe(1);
        expect(events).toEqual(['added first', 'added second', 'removed first']);
      } finally {
        controller.abort();
        await running;
        http.close();
      }
    });
  });
});
