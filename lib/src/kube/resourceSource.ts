// ListWatchSource for one Kubernetes resource type over KubeHttp: paged lists and bookmark-enabled watches,
// cluster-wide or in one namespace.
import type { KubeHttp } from './kubeHttp.js';
import type { KubeObject, ListPage, ListWatchSource } from './informer.js';

export interface ResourceType {
  /** Empty for the core group. */
  group: string;
  version: string;
  plural: string;
  kind: string;
}

export function resourcePath(type: ResourceType, namespace?: string, name?: string): string {
  const base = type.group ? `/apis/${type.group}/${type.version}` : `/api/${type.version}`;
  const ns = namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${type.plural}${name ? `/${encodeURIComponent(name)}` : ''}`;
}

export function apiVersionOf(type: ResourceType): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

export interface ResourceSourceOptions {
  /** Only this namespace (empty: all namespaces). */
  namespace?: string;
  /** Server-side label filter; informers still check what they keep, since not every server honours it. */
  labelSelector?: string;
}

export function resourceSource<T extends KubeObject>(http: KubeHttp, type: ResourceType, options: ResourceSourceOptions = {}): ListWatchSource<T> {
  const path = resourcePath(type, options.namespace);
  return {
    async list({ limit, continue: token, signal }): Promise<ListPage<T>> {
      const list = await http.request<{ items?: T[]; metadata?: { resourceVersion?: string; continue?: string } }>('GET', path, {
        query: { limit, continue: token, labelSelector: options.labelSelector },
        signal,
        timeoutMs: 60_000,
      });
      return { items: list.items ?? [], resourceVersion: list.metadata?.resourceVersion ?? '', continue: list.metadata?.continue };
    },
    watch({ resourceVersion, timeoutSeconds, signal }, onEvent) {
      return http.watch(
        path,
        { resourceVersion, timeoutSeconds, allowWatchBookmarks: true, labelSelector: options.labelSelector },
        onEvent,
        signal,
      );
    },
  };
}
