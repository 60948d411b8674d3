// Checks on Components that the API server stores without complaint but daprd cannot load (an unknown type,
// metadata without names or with duplicates, a bad initTimeout, …). The operator still serves such a Component
// — daprd decides what to do with it, e.g. `ignoreErrors` — but reports it, so the mistake is visible in
// `kubectl describe`, the logs and the metrics instead of only in some sidecar's log.
import { parseGoDuration } from '@tapr/lib/duration';
import type { Component } from './kinds.js';

/** Component categories daprd 1.17 loads (pkg/components/category.go). */
export const componentCategories = [
  'bindings',
  'pubsub',
  'secretstores',
  'state',
  'workflow',
  'workflowbackend',
  'middleware',
  'configuration',
  'crypto',
  'lock',
  'nameresolution',
  'conversation',
] as const;

export type ProblemReason = 'UnknownComponentType' | 'InvalidComponentVersion' | 'InvalidInitTimeout' | 'InvalidMetadata';

export interface Problem {
  reason: ProblemReason;
  message: string;
}

const namePattern = /^[a-z0-9]([-a-z0-9._]*[a-z0-9])?$/i;

export function validateComponent(component: Component): Problem[] {
  const problems: Problem[] = [];
  const spec = component.spec ?? {};
  const type = spec.type ?? '';
  const [category, ...rest] = type.split('.');
  if (!componentCategories.includes(category as (typeof componentCategories)[number])) {
    problems.push({
      reason: 'UnknownComponentType',
      message: `spec.type "${type}" does not start with a known category (${componentCategories.join(', ')})`,
    });
  } else if (category === 'middleware' ? rest.length < 2 || rest[0] !== 'http' || !rest.slice(1).every(Boolean) : rest.length === 0 || !rest.every(Boolean)) {
    const expected = category === 'middleware' ? 'middleware.http.<name>' : `${category}.<name>`;
    problems.push({ reason: 'UnknownComponentType', message: `spec.type "${type}" is not of the form ${expected}` });
  }
  if (spec.version && !/^v\d+([a-z]+\d+)?$/.test(spec.version)) {
    problems.push({ reason: 'InvalidComponentVersion', message: `spec.version "${spec.version}" is not a version such as v1 or v2alpha1` });
  }
  if (spec.initTimeout) {
    try {
      if (parseGoDuration(spec.initTimeout) < 0) throw new Error('negative');
    } catch {
      problems.push({ reason: 'InvalidInitTimeout', message: `spec.initTimeout "${spec.initTimeout}" is not a duration such as 5s or 1m` });
    }
  }
  problems.push(...validateMetadata(component));
  return problems;
}

function validateMetadata(component: Component): Problem[] {
  const problems: Problem[] = [];
  const seen = new Set<string>();
  const store = component.auth?.secretStore ?? '';
  const kubernetesStore = store === '' || store === 'kubernetes';
  (component.spec?.metadata ?? []).forEach((item, index) => {
    const where = `spec.metadata[${index}]`;
    const name = item.name ?? '';
    if (!name) {
      problems.push({ reason: 'InvalidMetadata', message: `${where} has no name` });
    } else if (seen.has(name.toLowerCase())) {
      problems.push({ reason: 'InvalidMetadata', message: `${where}: the name "${name}" appears more than once` });
    }
    seen.add(name.toLowerCase());
    const sources = [item.value !== undefined && item.value !== null, Boolean(item.secretKeyRef), Boolean(item.envRef)].filter(Boolean).length;
    if (sources > 1) {
      problems.push({ reason: 'InvalidMetadata', message: `${where} ("${name}") sets more than one of value, secretKeyRef and envRef` });
    }
    if (item.secretKeyRef && !item.secretKeyRef.name) {
      problems.push({ reason: 'InvalidMetadata', message: `${where} ("${name}") has a secretKeyRef without a name` });
    } else if (kubernetesStore && item.secretKeyRef?.name && !namePattern.test(item.secretKeyRef.name)) {
      problems.push({ reason: 'InvalidMetadata', message: `${where} ("${name}"): "${item.secretKeyRef.name}" is not a valid Secret name` });
    }
  });
  return problems;
}
