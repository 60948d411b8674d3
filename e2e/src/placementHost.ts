// A simulated actor host on placement's ReportDaprStatus stream, acting as daprd 1.17 does (spec §3.4): REPORT on
// connect, then an ack echoing the version for every lock, update and unlock; it keeps every table it is given.
import * as grpc from '@grpc/grpc-js';
import { protos } from '@tapr/lib';

const { Host, HostOperation } = protos.placement;
type Order = InstanceType<typeof protos.placement.PlacementOrder>;

export interface ReceivedTable {
  version: number;
  replicationFactor: number;
  /** actor type → host names in its load map */
  hosts: Record<string, string[]>;
}

export interface PlacementHostOptions {
  address: string;
  credentials: grpc.ChannelCredentials;
  /** "<ip>:<internal gRPC port>", the ring key. */
  name: string;
  appId: string;
  namespace: string;
  entities: string[];
}

export class PlacementHost {
  readonly tables: ReceivedTable[] = [];
  readonly operations: string[] = [];
  /** Version of the last unlock: the table in force. */
  unlockedVersion: number | undefined;
  status: grpc.StatusObject | undefined;
  readonly #client: InstanceType<typeof protos.placementGrpc.PlacementClient>;
  readonly #call: grpc.ClientDuplexStream<InstanceType<typeof Host>, Order>;

  constructor(private readonly options: PlacementHostOptions) {
    this.#client = new protos.placementGrpc.PlacementClient(options.address, options.credentials);
    this.#call = this.#client.reportDaprStatus();
    this.#call.on('data', (order: Order) => this.#onOrder(order));
    this.#call.on('status', (status: grpc.StatusObject) => (this.status = status));
    this.#call.on('error', () => undefined);
    this.#call.write(
      new Host()
        .setName(options.name)
        .setId(options.appId)
        .setNamespace(options.namespace)
        .setEntitiesList(options.entities)
        .setApiLevel(20)
        .setOperation(HostOperation.REPORT),
    );
  }

  /** The last table this host holds in force (received, then unlocked). */
  get current(): ReceivedTable | undefined {
    return this.tables.filter((t) => t.version === this.unlockedVersion).at(-1);
  }

  close(): void {
    this.#call.end();
    this.#client.close();
  }

  #ack(operation: number, version: number): void {
    this.#call.write(new Host().setId(this.options.appId).setNamespace(this.options.namespace).setOperation(operation).setVersion(version));
  }

  #onOrder(order: Order): void {
    const version = order.getVersion() || Number(order.getTables()?.getVersion() ?? 0);
    this.operations.push(`${order.getOperation()}:${version}`);
    switch (order.getOperation()) {
      case 'lock':
        this.#ack(HostOperation.LOCK, version);
        break;
      case 'update': {
        const tables = order.getTables();
        const hosts: Record<string, string[]> = {};
        tables?.getEntriesMap().forEach((table, actorType) => {
          const names: string[] = [];
          table.getLoadMapMap().forEach((_host, key) => names.push(key));
          hosts[actorType] = names.sort();
        });
        this.tables.push({ version, replicationFactor: tables?.getReplicationFactor() ?? 0, hosts });
        this.#ack(HostOperation.UPDATE, version);
        break;
      }
      case 'unlock':
        this.unlockedVersion = version;
        this.#ack(HostOperation.UNLOCK, version);
        break;
      default:
        this.#call.cancel();
    }
  }
}
