// The edge between Dapr's protobuf messages (`dapr.proto.placement.v1`, from @dapr/dapr) and the plain core.
// Orders are encoded once per round, already in gRPC's length-prefixed frame, and the same bytes are written to
// every stream (a 5,000-host table is encoded once, not 5,000 times; see connection.ts for the framing).
import * as protos from '@tapr/lib/protos';
import type { EncodedOrder } from './events.js';
import type { OrderCodec } from './disseminator.js';
import type { HostOperation, HostReport } from './host.js';
import { decodeHost } from './hostDecoder.js';

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

/**
 * What a `load_map` Host carries: `full` = the host's report as it came (Dapr 1.17, spec §3.1); `routing` = only
 * name, id, port and load, the fields daprd reads from a table (it keys its ring by the map key and routes to the
 * host's name and app ID; every daprd version reads nothing else, spec §3.5). Both give every sidecar the same
 * rings; `routing` leaves out each host's actor types, namespace, API level and operation, which a host repeats
 * in every actor type's map — tables grow with hosts × types² otherwise.
 */
export type TableHostFields = 'full' | 'routing';

/** The `PlacementTables` of a namespace: per actor type, `load_map` keyed by host name (spec §3.1). */
export function placementTables(version: number, hosts: readonly HostReport[], replicationFactor: number, hostFields: TableHostFields = 'full') {
  const tables = new PlacementTables().setVersion(String(version)).setReplicationFactor(replicationFactor);
  const entries = tables.getEntriesMap();
  for (const report of hosts) {
    const message = hostFields === 'full' ? hostToProto(report) : routingHost(report);
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

function routingHost(report: HostReport): HostMessage {
  return new Host().setName(report.name).setId(report.id).setPort(report.port).setLoad(report.load);
}

/**
 * An encoded PlacementOrder inside its gRPC message frame (1 byte "not compressed", 4 bytes big-endian length,
 * the message). One instance is shared by every stream it goes to.
 */
export class FramedOrder {
  readonly frame: Buffer;
  constructor(message: Uint8Array) {
    this.frame = Buffer.allocUnsafe(message.byteLength + 5);
    this.frame.writeUInt8(0, 0);
    this.frame.writeUInt32BE(message.byteLength, 1);
    this.frame.set(message, 5);
  }
  /** The message without its frame. */
  get message(): Buffer {
    return this.frame.subarray(5);
  }
  get byteLength(): number {
    return this.frame.byteLength;
  }
}

/** Orders as framed wire bytes (FramedOrder payloads), ready for `call.write`. */
export class WireOrderCodec implements OrderCodec {
  constructor(
    private readonly replicationFactor: number,
    private readonly hostFields: TableHostFields = 'full',
  ) {}

  lock(version: number): EncodedOrder {
    return { operation: 'lock', version, payload: encode(new PlacementOrder().setOperation('lock').setVersion(version)) };
  }

  update(version: number, hosts: readonly HostReport[]): EncodedOrder {
    const order = new PlacementOrder()
      .setOperation('update')
      .setVersion(version)
      .setTables(placementTables(version, hosts, this.replicationFactor, this.hostFields));
    return { operation: 'update', version, payload: encode(order) };
  }

  unlock(version: number): EncodedOrder {
    return { operation: 'unlock', version, payload: encode(new PlacementOrder().setOperation('unlock').setVersion(version)) };
  }
}

function encode(order: InstanceType<typeof PlacementOrder>): FramedOrder {
  return new FramedOrder(order.serializeBinary());
}

/**
 * Dapr's Placement service definition with a response serializer that also accepts pre-encoded orders
 * (FramedOrder), and requests decoded straight into HostReports (hostDecoder.ts).
 */
export function placementServiceDefinition() {
  const generated = protos.placementGrpc.PlacementService.reportDaprStatus;
  return {
    reportDaprStatus: {
      ...generated,
      requestDeserialize: (bytes: Buffer): HostReport => decodeHost(bytes),
      responseSerialize: (value: FramedOrder | InstanceType<typeof PlacementOrder>): Buffer =>
        value instanceof FramedOrder ? value.message : generated.responseSerialize(value),
    },
  };
}
