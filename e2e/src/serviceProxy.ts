// kube-proxy's part for one ClusterIP Service, played locally: a TCP listener on 127.0.0.1 that hands each
// connection to the next live endpoint in turn, as a connection to a Service's address reaches one ready pod. Bytes
// pass through untouched, so mTLS is end to end between the client and the endpoint. With no endpoint left the
// connection is reset at once, as kube-proxy rejects connections to a Service without endpoints.
import net from 'node:net';

export interface ServiceProxyOptions {
  /** The endpoints' addresses (`127.0.0.1:<port>`) that may take a connection now, asked at every connection. */
  endpoints(): string[];
}

export class ServiceProxy {
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  #next = 0;

  private constructor(private readonly options: ServiceProxyOptions) {
    this.#server = net.createServer((client) => void this.#forward(client));
  }

  static async start(options: ServiceProxyOptions): Promise<ServiceProxy> {
    const proxy = new ServiceProxy(options);
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject);
      proxy.#server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get address(): string {
    return `127.0.0.1:${(this.#server.address() as net.AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #track(socket: net.Socket): net.Socket {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    return socket;
  }

  async #forward(client: net.Socket): Promise<void> {
    this.#track(client);
    client.pause();
    client.on('error', () => undefined);
    const endpoints = this.options.endpoints();
    const start = this.#next++;
    // Round robin, skipping an endpoint that refuses (a process that has not bound its port yet, or just died).
    for (let i = 0; i < endpoints.length && !client.destroyed; i++) {
      const upstream = await connect(endpoints[(start + i) % endpoints.length]!).catch(() => undefined);
      if (!upstream) continue;
      this.#track(upstream);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
      client.once('close', () => upstream.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
      return;
    }
    client.resetAndDestroy();
  }
}

function connect(address: string): Promise<net.Socket> {
  const colon = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)) });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}
