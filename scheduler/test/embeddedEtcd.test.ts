// The embedded etcd against the real etcd binary (3.6, ~/.cache/tapr/bin): one member, restarts and the marker
// rule, a three-member cluster losing a member, peer mTLS, and the failures run() must report.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { createLogger, type Logger } from '@tapr/lib/logger';
import { binaryPaths } from '@tapr/lib/testing/binaries';
import { freePort } from '@tapr/lib/testing/ports';
import { waitFor } from '@tapr/lib/testing/wait';
import { createCa, issueCertificate, type Issued } from '@tapr/lib/testing/pki';
import { EmbeddedEtcd, etcdArgs, existingClusterMarker, type EmbeddedEtcdOptions } from '../src/embeddedEtcd.js';
import { readOptions } from '../src/options.js';

const etcdBinary = binaryPaths().etcd;
const b64 = (text: string) => Buffer.from(text).toString('base64');

/** Log lines of the parts under test, kept for a failing test's message instead of printed. */
const logged: string[] = [];
function testLogger(): Logger {
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => logged.push(...chunk.toString().split('\n').filter(Boolean)));
  return createLogger({ scope: 'test.etcd', level: 'info', stream });
}

let scratch: string;
const running: { controller: AbortController; run: Promise<unknown> }[] = [];

beforeEach(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'tapr-etcd-it-'));
  logged.length = 0;
});
afterEach(async () => {
  for (const member of running) member.controller.abort();
  await Promise.all(running.map((member) => member.run));
  running.length = 0;
  rmSync(scratch, { recursive: true, force: true });
});

async function memberOptions(overrides: Partial<EmbeddedEtcdOptions> = {}): Promise<EmbeddedEtcdOptions> {
  const peerPort = await freePort();
  const id = overrides.id ?? 'dapr-scheduler-server-0';
  return {
    // Dapr's defaults for the rest (options.ts with no flags).
    ...readOptions({ argv: [], env: {}, fileExists: () => false }).etcd,
    mode: 'standalone',
    namespace: 'default',
    binary: etcdBinary,
    id,
    initialCluster: [`${id}=http://127.0.0.1:${peerPort}`],
    dataDir: path.join(scratch, 'data'),
    clientPort: await freePort(),
    clientListenAddress: '127.0.0.1',
    logger: testLogger(),
    // Short: members stopped together may wait on each other (etcd gives that up to 7 s); a kill is safe here.
    stopGracePeriodMs: 1_500,
    ...overrides,
  };
}

interface Member {
  etcd: EmbeddedEtcd;
  controller: AbortController;
  /** run()'s outcome, never rejecting: the error, or undefined after a clean stop. */
  outcome: Promise<Error | undefined>;
  stop(): Promise<Error | undefined>;
}

function start(options: EmbeddedEtcdOptions): Member {
  const etcd = new EmbeddedEtcd(options);
  const controller = new AbortController();
  const outcome = etcd.run(controller.signal).then(() => undefined, (error: Error) => error);
  running.push({ controller, run: outcome });
  return { etcd, controller, outcome, stop: () => (controller.abort(), outcome) };
}

async function ready(member: Member, timeoutMs = 15_000): Promise<void> {
  try {
    await member.etcd.whenReady(AbortSignal.timeout(timeoutMs));
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${logged.join('\n')}`, { cause: error });
  }
}

async function gateway(endpoint: string, method: string, body: object, timeoutMs = 5_000): Promise<Record<string, unknown>> {
  const response = await fetch(`${endpoint}/v3/kv/${method}`, {
    method: 'POST',
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const json = (await response.json()) as Record<string, unknown>;
  if (!response.ok) throw new Error(`${method}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

const put = (endpoint: string, key: string, value: string, timeoutMs?: number) =>
  gateway(endpoint, 'put', { key: b64(key), value: b64(value) }, timeoutMs);

async function get(endpoint: string, key: string): Promise<string | undefined> {
  const { kvs } = (await gateway(endpoint, 'range', { key: b64(key) })) as { kvs?: { value?: string }[] };
  const value = kvs?.[0]?.value;
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString();
}

/** Whether the process runs (a zombie waiting for its reaper does not). */
function processExists(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('the embedded etcd', () => {
  it('passes only flags that the real etcd binary knows', async () => {
    const help = spawnSync(etcdBinary, ['--help'], { encoding: 'utf8' });
    const known = new Set([...`${help.stdout}${help.stderr}`.matchAll(/^\s+--([a-z0-9-]+)/gm)].map((m) => m[1]));
    const options = await memberOptions({ tlsDir: '/tls', peerAllowedHostnames: ['a.example'] });
    const used = etcdArgs(options, '/d').map((arg) => /^--([a-z0-9-]+)=/.exec(arg)?.[1]);
    expect(used.filter((name) => !name || !known.has(name))).toEqual([]);
    expect(known.has('bootstrap-defrag-threshold-megabytes')).toBe(true);
  });

  describe('with one member', () => {
    it('starts, serves the HTTP/JSON gateway and stops its process on abort', async () => {
      const member = start(await memberOptions());
      const started = Date.now();
      await ready(member);
      expect(Date.now() - started).toBeLessThan(10_000);
      const pid = member.etcd.pid!;
      expect(processExists(pid)).toBe(true);

      await put(member.etcd.clientEndpoint, 'dapr/jobs/one', 'payload');
      expect(await get(member.etcd.clientEndpoint, 'dapr/jobs/one')).toBe('payload');

      expect(await member.stop()).toBeUndefined();
      expect(processExists(pid)).toBe(false);
      expect(member.etcd.pid).toBeUndefined();
    });

    it('listens on localhost by default', async () => {
      const member = start(await memberOptions({ clientListenAddress: 'localhost' }));
      await ready(member);
      expect(member.etcd.clientEndpoint).toMatch(/^http:\/\/localhost:\d+$/);
      await put(member.etcd.clientEndpoint, 'k', 'v');
      expect(await member.stop()).toBeUndefined();
    });

    it('is killed when the process that runs it exits without stopping it', async () => {
      const options = await memberOptions();
      const script = path.join(scratch, 'exits.mts');
      writeFileSync(
        script,
        [
          `import { EmbeddedEtcd } from ${JSON.stringify(path.resolve('scheduler/src/embeddedEtcd.ts'))};`,
          'const noop = () => undefined;',
          'const logger = { debug: noop, info: noop, warn: noop, error: noop, fatal: noop, isDebugEnabled: () => false, child: () => logger };',
          `const etcd = new EmbeddedEtcd({ ...${JSON.stringify({ ...options, logger: undefined })}, logger });`,
          'void etcd.run(new AbortController().signal);',
          'await etcd.whenReady();',
          'process.stdout.write(`pid ${etcd.pid}\\n`);',
          'process.exit(0);',
        ].join('\n'),
      );
      const result = spawnSync(path.resolve('node_modules/.bin/tsx'), [script], { encoding: 'utf8', timeout: 30_000 });
      expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
      const pid = Number(/^pid (\d+)$/m.exec(result.stdout)?.[1]);
      expect(pid).toBeGreaterThan(0);
      await waitFor(() => !processExists(pid), { timeoutMs: 5_000, what: `etcd (pid ${pid}) to be gone` });
    });

    it('resolves run() at once, starting nothing, when the signal has already aborted', async () => {
      const etcd = new EmbeddedEtcd(await memberOptions());
      await expect(etcd.run(AbortSignal.abort())).resolves.toBeUndefined();
      expect(etcd.pid).toBeUndefined();
      await expect(etcd.whenReady()).rejects.toThrow('stopped before it was ready');
    });
  });

  describe('across restarts', () => {
    it('keeps the data while the marker exists and starts empty when it is deleted', async () => {
      const options = await memberOptions();
      const first = start(options);
      await ready(first);
      await put(first.etcd.clientEndpoint, 'dapr/jobs/kept', '1');
      expect(await first.stop()).toBeUndefined();
      expect(existsSync(path.join(options.dataDir, existingClusterMarker))).toBe(true);

      const second = start(options);
      await ready(second);
      expect(await get(second.etcd.clientEndpoint, 'dapr/jobs/kept')).toBe('1');
      expect(await second.stop()).toBeUndefined();

      rmSync(path.join(options.dataDir, existingClusterMarker));
      const third = start(options);
      await ready(third);
      expect(await get(third.etcd.clientEndpoint, 'dapr/jobs/kept')).toBeUndefined();
      expect(existsSync(path.join(options.dataDir, existingClusterMarker))).toBe(true);
      expect(await third.stop()).toBeUndefined();
    });
  });

  describe('with three members', () => {
    async function clusterOptions(scheme: 'http' | 'https', extra: (id: string) => Partial<EmbeddedEtcdOptions> = () => ({})) {
      const ids = [0, 1, 2].map((i) => `dapr-scheduler-server-${i}`);
      const peers = await Promise.all(ids.map(() => freePort()));
      const initialCluster = ids.map((id, i) => `${id}=${scheme}://127.0.0.1:${peers[i]}`);
      return Promise.all(ids.map(async (id) => ({ ...(await memberOptions({ id, ...extra(id) })), initialCluster })));
    }

    it('forms one cluster from the shared list and keeps serving writes when one member is killed', async () => {
      const members = (await clusterOptions('http')).map(start);
      const started = Date.now();
      await Promise.all(members.map((member) => ready(member, 20_000)));
      expect(Date.now() - started).toBeLessThan(15_000);
      const [a, b, c] = members as [Member, Member, Member];

      await put(a.etcd.clientEndpoint, 'dapr/jobs/shared', 'from-0');
      expect(await get(c.etcd.clientEndpoint, 'dapr/jobs/shared')).toBe('from-0');

      process.kill(c.etcd.pid!, 'SIGKILL');
      const error = await c.outcome;
      expect(error?.message).toMatch(/^etcd was killed by SIGKILL before it was stopped/);

      // A write in flight when the leader dies times out; etcd's clients retry, and so does this one.
      await waitFor(() => put(a.etcd.clientEndpoint, 'dapr/jobs/after', 'two-left', 2_000), { timeoutMs: 15_000, what: 'a write with two members' });
      expect(await get(b.etcd.clientEndpoint, 'dapr/jobs/after')).toBe('two-left');
    });

    it('with a TLS dir, talks https between peers and refuses peers without a client certificate', async () => {
      const ca = await createCa('tapr test scheduler CA');
      const names = [0, 1, 2].map((i) => `dapr-scheduler-server-${i}.dapr-scheduler-server.default.svc.localhost`);
      const tlsDirs = new Map<string, string>();
      for (const id of [0, 1, 2].map((i) => `dapr-scheduler-server-${i}`)) {
        const leaf = await issueCertificate(ca, { dnsNames: names, ipAddresses: ['127.0.0.1'], usage: 'both' });
        tlsDirs.set(id, writeTlsDir(path.join(scratch, `tls-${id}`), ca, leaf));
      }
      const options = await clusterOptions('https', (id) => ({ tlsDir: tlsDirs.get(id)!, peerAllowedHostnames: names }));
      const members = options.map(start);
      await Promise.all(members.map((member) => ready(member, 20_000)));
      await put(members[0]!.etcd.clientEndpoint, 'dapr/jobs/tls', 'yes');
      expect(await get(members[2]!.etcd.clientEndpoint, 'dapr/jobs/tls')).toBe('yes');

      const peerUrl = options[1]!.initialCluster[1]!.split('=')[1]!;
      const dir = tlsDirs.get('dapr-scheduler-server-0')!;
      expect(await peerGet(`${peerUrl}/members`, { ca: ca.certPem })).toMatch(/certificate|socket hang up|ECONNRESET/i);
      expect(await peerGet(`${peerUrl}/members`, { ca: ca.certPem, cert: readFile(dir, 'cert.pem'), key: readFile(dir, 'key.pem') })).toBe(200);
    });
  });

  describe('on bad input', () => {
    it('refuses an --id that is not in --etcd-initial-cluster, naming both', async () => {
      const options = await memberOptions();
      expect(() => new EmbeddedEtcd({ ...options, id: 'dapr-scheduler-server-3' })).toThrow(
        `--id dapr-scheduler-server-3 is not in --etcd-initial-cluster (${options.initialCluster[0]})`,
      );
    });

    it('rejects run() and whenReady() with etcd’s own words when etcd exits by itself', async () => {
      const taken = net.createServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      try {
        const member = start(await memberOptions({ clientPort: (taken.address() as net.AddressInfo).port }));
        const error = await member.outcome;
        expect(error?.message).toMatch(/^etcd exited with code 1 before it was stopped; its last output:\n/);
        expect(error?.message).toContain('address already in use');
        await expect(member.etcd.whenReady()).rejects.toBe(error);
      } finally {
        taken.close();
      }
    });
  });
});

function writeTlsDir(dir: string, ca: Issued, leaf: Issued): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'cert.pem'), leaf.certPem);
  writeFileSync(path.join(dir, 'key.pem'), leaf.keyPem, { mode: 0o600 });
  writeFileSync(path.join(dir, 'ca.pem'), ca.certPem);
  return dir;
}

const readFile = (dir: string, name: string) => readFileSync(path.join(dir, name), 'utf8');

/** The status code of GET on a peer URL, or the TLS error's message. */
function peerGet(url: string, tls: https.RequestOptions): Promise<number | string> {
  return new Promise((resolve) => {
    const request = https.get(url, { ...tls, timeout: 5_000 }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', (error) => resolve(`${(error as NodeJS.ErrnoException).code ?? ''} ${error.message}`));
  });
}
