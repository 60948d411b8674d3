// The edge between Dapr's protobuf messages (`dapr.proto.placement.v1`, from @dapr/dapr) and the plain core.
// Orders are encoded once per round and the same bytes are written to every stream: the service definition's
// response serializer passes pre-encoded Buffers through (a 5,000-host table is encoded once, not 5,000 times).
import { protos } from '@tapr/lib';
import type { EncodedOrder } from './events.js';
import type { OrderCodec } from './disseminator.js';
import type { HostOperation, HostReport } from './host.js';

const { Host, PlacementOrder, PlacementTables, PlacementTable } = protos.placement;
type HostMessage = InstanceType<typeof Host>;

export function hostFromProto(message: HostMessage): HostReport {
  const report: HostReport = {
    name: message.getName(),
    id: message.getId(),
    namespace: message.getNamespace(),
    entities: [...message.getEntitiesList()].sort(),
    operation: message.getOperation() as HostOperation,
    port: message.getPort(),
    load: message.getLoad(),
    pod: message.getPod(),
    apiLevel: message.getApiLevel(),
  };
  if (message.hasVersion()) report.version = message.getVersion();
  return report;
}

export function hostToProto(report: HostReport): HostMessage {
  const message = new Host()
    .setName(report.name)
    .setId(report.id)
    .setNamespace(report.namespace)
    .setEntitiesList(report.entities)
    .setOperation(report.operation)
    .setPort(report.port)
    .setLoad(report.load)
    .setPod(report.pod)
    .setApiLevel(report.apiLevel);
  if (report.version !== undefined) message.setVersion(report.version);
  return message;
}

/** The `PlacementTables` of a namespace: per actor type, `load_map` keyed by host name (spec §3.1). */
export function placementTables(version: number, hosts: readonly HostReport[], replicationFactor: number) {
  const tables = new PlacementTables().setVersion(String(version)).setReplicationFactor(replicationFactor);
  const entries = tables.getEntriesMap();
  for (const report of hosts) {
    const message = hostToProto(report);
    for (const actorType of report.entities) {
      let table = entries.get(actorType);
      if (!table) {
        table = new PlacementTable();
        entries.set(actorType, table);
      }
      table.getLoadMapMap().set(report.name, message);
    }
  }
  return tables;
}

/** Orders as wire bytes, ready for `call.write`. */
export class WireOrderCodec implements OrderCodec {
  constructor(private readonly replicationFactor: number) {}

  lock(version: number): EncodedOrder {
    return { operation: 'lock', version, payload: encode(new PlacementOrder().setOperation('lock').setVersion(version)) };
  }

  update(version: number, hosts: readonly HostReport[]): EncodedOrder {
    const order = new PlacementOrder()
      .setOperation('update')
      .setVersion(version)
      .setTables(placementTables(version, hosts, this.replicationFactor));
    return { operation: 'update', version, payload: encode(order) };
  }

  unlock(version: number): EncodedOrder {
    return { operation: 'unlock', version, payload: encode(new PlacementOrder().setOperation('unlock').setVersion(version)) };
  }
}

function encode(order: InstanceType<typeof PlacementOrder>): Buffer {
  const bytes = order.serializeBinary();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Dapr's Placement service definition with a response serializer that also accepts pre-encoded orders
 * (Buffers). Requests are decoded with the generated code as usual.
 */
export function placementServiceDefinition() {
  const generated = protos.placementGrpc.PlacementService.reportDaprStatus;
  return {
    reportDaprStatus: {
      ...generated,
      responseSerialize: (value: Buffer | InstanceType<typeof PlacementOrder>): Buffer =>
        Buffer.isBuffer(value) ? value : generated.responseSerialize(value),
    },
  };
}
