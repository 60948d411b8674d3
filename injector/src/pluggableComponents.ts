// `dapr.io/inject-pluggable-components: "true"`: the containers declared on the namespace's Components (annotation
// `dapr.io/component-container`, a JSON Container) join the pod, as in Dapr — one per image, only Components
// scoped to the app (or unscoped), named after the Component when the JSON gives no name.
import type { Logger } from '@tapr/lib';
import type { KubeAccess } from './kubeAccess.js';
import type { ContainerJson } from './kubeTypes.js';

export function componentContainers(appId: string, components: Array<Record<string, unknown>>, logger?: Logger): ContainerJson[] {
  const images = new Set<string>();
  const out: ContainerJson[] = [];
  for (const component of components) {
    const metadata = (component['metadata'] ?? {}) as { name?: string; annotations?: Record<string, string> };
    const text = metadata.annotations?.['dapr.io/component-container'];
    if (!text) continue;
    let container: Partial<ContainerJson>;
    try {
      container = JSON.parse(text) as Partial<ContainerJson>;
      if (typeof container !== 'object' || container === null) throw new Error('not a JSON object');
    } catch (error) {
      logger?.warn('ignoring a Component whose dapr.io/component-container is not a JSON container', { component: metadata.name, error });
      continue;
    }
    const image = container.image ?? '';
    if (images.has(image)) continue;
    const scopes = component['scopes'] as string[] | undefined;
    if (scopes?.length && !scopes.includes(appId)) continue;
    images.add(image);
    out.push({ ...container, name: container.name || (metadata.name ?? '') } as ContainerJson);
  }
  return out;
}

export function componentContainerLookup(kube: KubeAccess, logger: Logger) {
  return async (appId: string, namespace: string): Promise<ContainerJson[]> => componentContainers(appId, await kube.components(namespace), logger);
}
