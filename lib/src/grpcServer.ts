// Binding and stopping a grpc-js server the way every tapr service does.
import * as grpc from '@grpc/grpc-js';

/** Binds `host:port`; Go's "" (every interface) becomes "[::]" (dual stack), or 0.0.0.0 without IPv6. */
export function bindGrpcServer(server: grpc.Server, host: string, port: number, credentials: grpc.ServerCredentials): Promise<number> {
  const attempt = (address: string) =>
    new Promise<number>((resolve, reject) =>
      server.bindAsync(address, credentials, (error, bound) =>
        error ? reject(new Error(`cannot listen on ${address}: ${error.message}`, { cause: error })) : resolve(bound),
      ),
    );
  if (host !== '') return attempt(`${host.includes(':') ? `[${host}]` : host}:${port}`);
  return attempt(`[::]:${port}`).catch(() => attempt(`0.0.0.0:${port}`));
}

/** Lets calls in progress finish for up to `graceMs`, then cuts the rest. */
export function shutdownGrpcServer(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
