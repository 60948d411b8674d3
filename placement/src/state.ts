// `GET /placement/state` on the health port (with --metadata-enabled): the tables per namespace in the JSON Go's
// encoding/json makes of Dapr's StatePlacementTables — proto field names, zero values left out, map keys sorted.
import type { NamespaceState } from './core.js';
import type { HostReport } from './host.js';

export function statePlacementTablesJson(state: Record<string, NamespaceState>): string {
  const tables: Record<string, unknown> = {};
  for (const namespace of Object.keys(state).sort()) {
    const { hosts, version } = state[namespace]!;
    tables[namespace] = omitZero({ hosts: hosts.length ? hosts.map(hostJson) : undefined, version });
  }
  return JSON.stringify(Object.keys(tables).length ? { tables } : {});
}

function hostJson(host: HostReport): Record<string, unknown> {
  return omitZero({
    name: host.name,
    port: host.port,
    load: host.load,
    entities: host.entities.length ? host.entities : undefined,
    id: host.id,
    pod: host.pod,
    api_level: host.apiLevel,
    namespace: host.namespace,
    operation: host.operation,
    version: host.version,
  });
}

function omitZero(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined && value !== 0 && value !== ''));
}
