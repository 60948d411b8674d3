// Debian's redis-server on a free loopback port with its own data directory, for the e2e suites and the demo.
// Nothing is persisted (no RDB snapshots, no AOF): each run starts empty.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { freePort, waitFor } from '@tapr/lib/testing';

export const redisServerBinary = process.env['TAPR_REDIS_SERVER'] ?? 'redis-server';

export class RedisServer {
  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
    private output: string,
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  static async start(dataDir: string): Promise<RedisServer> {
    if (spawnSync(redisServerBinary, ['--version']).status !== 0) {
      throw new Error(`${redisServerBinary} is not installed: apt-get install redis-server (the e2e suite starts its own on a free port)`);
    }
    mkdirSync(dataDir, { recursive: true });
    const port = await freePort();
    const child = spawn(redisServerBinary, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dataDir, '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const server = new RedisServer(port, child, '');
    const collect = (chunk: Buffer) => (server.output = (server.output + chunk.toString()).slice(-20_000));
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}: ${server.output}`);
        return (await server.command('PING').catch(() => []))[0] === 'PONG';
      },
      { what: `redis-server on ${server.address}`, timeoutMs: 15_000, intervalMs: 100 },
    );
    return server;
  }

  /** One command through redis-cli (Debian's redis-tools); the reply lines as redis-cli --raw prints them. */
  async command(...args: string[]): Promise<string[]> {
    const result = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(this.port), '--raw', ...args], { encoding: 'utf8', timeout: 5000 });
    if (result.status !== 0) throw new Error(`redis-cli ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
    return result.stdout.split('\n').filter((line, i, all) => line !== '' || i < all.length - 1);
  }

  /** The keys matching `pattern` (KEYS), sorted. */
  async keys(pattern = '*'): Promise<string[]> {
    return (await this.command('KEYS', pattern)).filter(Boolean).sort();
  }

  /** The fields and values of a hash (HGETALL); Dapr's Redis state store keeps each key as one. */
  async hash(key: string): Promise<Record<string, string>> {
    const lines = await this.command('HGETALL', key);
    const out: Record<string, string> = {};
    for (let i = 0; i + 1 < lines.length; i += 2) out[lines[i]!] = lines[i + 1]!;
    return out;
  }

  logs(): string {
    return this.output;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await exited;
  }
}
