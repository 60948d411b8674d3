// A simulated daprd for integration tests: it speaks the Placement stream with the @dapr/dapr stubs the way
// daprd 1.17 does (spec §3.4) — REPORT on connect, LOCK/UPDATE/UNLOCK acks echoing the version, ready after the
// first unlock — and keeps the table it was given, so tests can compare what every sidecar holds and compute
// actor owners with the shared ring.
import * as grpc from '@grpc/grpc-js';
import { grpcClientChannelOptions, protos, type SpiffeId } from '@tapr/lib';
import { PlacementRings } from '@tapr/lib/placement/ring';

const { Host, HostOperation } = protos.placement;
type Order = InstanceType<typeof protos.placement.PlacementOrder>;
type Call = grpc.ClientDuplexStream<InstanceType<typeof Host>, Order>;

export interface TableHost {
  name: string;
  id: string;
  namespace: string;
  entities: string[];
}

export interface HeldTable {
  version: number;
  replicationFactor: number;
  /** actor type → host name → host */
  entries: Record<string, Record<string, TableHost>>;
}

export interface SidecarOptions {
  /** Placement addresses, tried in turn like daprd's static address list. */
  addresses: string[];
  credentials: grpc.ChannelCredentials;
  name: string;
  id: string;
  namespace: string;
  entities: string[];
  /** Keep reconnecting after a stream ends (daprd does); default false. */
  reconnect?: boolean;
  /**
   * With TLS: placement's SPIFFE ID. For an IP address the TLS server name is then made from it, as tapr's clients
   * do (grpcClientChannelOptions: Node refuses an IP address as server name); the peer is checked by SPIFFE ID.
   */
  serverId?: SpiffeId;
  channelOptions?: grpc.ChannelOptions;
}

export class SimulatedSidecar {
  table: HeldTable | undefined;
  /** Version of the last unlock (the table in force). */
  readyVersion: number | undefined;
  /** Every status a stream of this sidecar ended with. */
  readonly statuses: grpc.StatusObject[] = [];
  readonly orders: Array<{ operation: string; version: number }> = [];
  /** Every table received: from which placement address, its version, and the hosts per actor type. */
  readonly updates: Array<{ from: string; version: number; hosts: Record<string, number> }> = [];
  /** Address of the stream currently open. */
  connectedTo: string | undefined;
  ackEnabled = true;
  #client: InstanceType<typeof protos.placementGrpc.PlacementClient> | undefined;
  #call: Call | undefined;
  #pending: InstanceType<typeof protos.placement.PlacementTables> | undefined;
  #addressIndex = 0;
  #stopped = false;
  #updateSeen = false;

  constructor(readonly options: SidecarOptions) {}

  start(): void {
    this.#connect();
  }

  /** daprd re-reports when its actor types change. */
  setEntities(entities: string[]): void {
    this.options.entities = entities;
    this.#call?.write(this.#report());
  }

  /** Ends the stream as daprd does on shutdown (CloseSend), and stops. */
  leave(): void {
    this.#stopped = true;
    this.#call?.end();
  }

  /** Drops the connection without a goodbye. */
  close(): void {
    this.#stopped = true;
    this.#call?.cancel();
    this.#client?.close();
  }

  /** Stops reading orders (flow control then stops the server's writes); `resumeReading` undoes it. */
  pauseReading(): void {
    this.#call?.pause();
  }

  resumeReading(): void {
    this.#call?.resume();
  }

  /** Sends an arbitrary Host on the open stream (bad-input tests). */
  sendRaw(host: InstanceType<typeof Host>): void {
    this.#call?.write(host);
  }

  /** The owner (host name) of an actor according to the held table. */
  owner(actorType: string, actorId: string): string {
    if (!this.table) throw new Error(`${this.options.name} holds no table`);
    return PlacementRings.build(this.table).lookup(actorType, actorId).name;
  }

  /** The host names in the held table for `actorType`, sorted. */
  hostsOf(actorType: string): string[] {
    return Object.keys(this.table?.entries[actorType] ?? {}).sort();
  }

  get lastStatus(): grpc.StatusObject | undefined {
    return this.statuses.at(-1);
  }

  #connect(): void {
    const address = this.options.addresses[this.#addressIndex++ % this.options.addresses.length]!;
    this.#client?.close();
    const { serverId, channelOptions } = this.options;
    this.#client = new protos.placementGrpc.PlacementClient(address, this.options.credentials, {
      ...(serverId ? grpcClientChannelOptions(address, serverId) : {}),
      ...channelOptions,
    });
    const call = this.#client.reportDaprStatus() as Call;
    this.#call = call;
    this.#updateSeen = false;
    this.connectedTo = address;
    call.on('data', (order: Order) => this.#onOrder(call, order));
    call.on('status', (status: grpc.StatusObject) => {
      if (this.#call !== call) return;
      this.statuses.push(status);
      this.connectedTo = undefined;
      this.readyVersion = undefined;
      // Any stream error → reconnect to the next address at once; daprd backs off 500 ms only when dialling fails.
      if (this.options.reconnect && !this.#stopped) setTimeout(() => this.#connect(), status.code === grpc.status.UNAVAILABLE ? 500 : 0);
    });
    call.on('error', () => undefined);
    call.write(this.#report());
  }

  #report(): InstanceType<typeof Host> {
    return new Host()
      .setName(this.options.name)
      .setId(this.options.id)
      .setNamespace(this.options.namespace)
      .setEntitiesList(this.options.entities)
      .setApiLevel(20)
      .setOperation(HostOperation.REPORT);
  }

  #ack(call: Call, operation: number, version: number): void {
    if (!this.ackEnabled) return;
    call.write(new Host().setId(this.options.id).setNamespace(this.options.namespace).setOperation(operation).setVersion(version));
  }

  #onOrder(call: Call, order: Order): void {
    const version = order.getVersion() || Number(order.getTables()?.getVersion() ?? 0);
    this.orders.push({ operation: order.getOperation(), version });
    switch (order.getOperation()) {
      case 'lock':
        this.#updateSeen = false;
        this.#ack(call, HostOperation.LOCK, version);
        break;
      case 'update':
        this.#pending = order.getTables();
        this.#updateSeen = true;
        this.table = toHeldTable(version, this.#pending);
        this.updates.push({
          from: this.connectedTo ?? '',
          version,
          hosts: Object.fromEntries(Object.entries(this.table.entries).map(([type, hosts]) => [type, Object.keys(hosts).length])),
        });
        this.#ack(call, HostOperation.UPDATE, version);
        break;
      case 'unlock':
        if (!this.#updateSeen) return; // daprd ignores an unlock without an update before it
        this.readyVersion = version;
        this.#ack(call, HostOperation.UNLOCK, version);
        break;
      default:
        call.cancel();
    }
  }
}

function toHeldTable(version: number, tables: InstanceType<typeof protos.placement.PlacementTables> | undefined): HeldTable {
  const entries: HeldTable['entries'] = {};
  tables?.getEntriesMap().forEach((table, actorType) => {
    const hosts: Record<string, TableHost> = {};
    table.getLoadMapMap().forEach((host, key) => {
      hosts[key] = { name: host.getName(), id: host.getId(), namespace: host.getNamespace(), entities: host.getEntitiesList() };
    });
    entries[actorType] = hosts;
  });
  return { version, replicationFactor: tables?.getReplicationFactor() ?? 0, entries };
}
