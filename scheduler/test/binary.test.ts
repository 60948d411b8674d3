// The built binary as Dapr's integration framework runs it (docs/scheduler-spec.md §1): its flag spellings and
// exit codes, healthz, metrics under Dapr's names, the leadership key the framework waits for in the embedded
// etcd, and SIGTERM → exit 0 with etcd stopped too.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import { binaryPaths, freePort, waitFor } from '@tapr/lib/testing';
import { SchedulerProcess, call, jobMeta, schedulerClient } from './harness.js';

beforeAll(() => SchedulerProcess.assertBuilt());

describe('the scheduler binary', () => {
  it.each([
    [['--help'], 0, /--etcd-initial-cluster/],
    [['--no-such-flag'], 2, /no-such-flag/],
    [['--etcd-embed=false'], 1, /--etcd-embed=false needs --etcd-client-endpoints/],
    [['--etcd-space-quota=lots'], 1, /failed to parse etcd space quota/],
    [['--tls-enabled'], 1, /trust anchors are required/],
    [['--id=dapr-scheduler-server-7'], 1, /--id dapr-scheduler-server-7 is not in --etcd-initial-cluster/],
  ])('with %j exits %i', async (args, code, pattern) => {
    const proc = new SchedulerProcess([...args, '--port=0', '--healthz-port=0', '--metrics-port=0']).start();
    expect(await proc.exited).toBe(code);
    expect(proc.output).toMatch(pattern);
  });

  it('runs with Dapr’s test-framework arguments, is found by its leadership key, serves health and metrics, and stops on SIGTERM with 0', async () => {
    const [port, healthz, metrics, etcdClient, etcdPeer] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
    const dir = await mkdtemp(path.join(tmpdir(), 'tapr-scheduler-bin-'));
    const id = `${randomUUID()}-0`;
    const proc = new SchedulerProcess(
      [
        '--log-level=debug',
        `--id=${id}`,
        `--port=${port}`,
        `--healthz-port=${healthz}`,
        `--metrics-port=${metrics}`,
        `--etcd-data-dir=${path.join(dir, 'data')}`,
        `--etcd-client-port=${etcdClient}`,
        '--listen-address=127.0.0.1',
        `--identity-directory-write=${path.join(dir, 'tls')}`,
        '--etcd-backend-batch-interval=50ms',
        `--etcd-initial-cluster=${id}=http://127.0.0.1:${etcdPeer}`,
        '--workers=128',
      ],
      // The framework passes only NAMESPACE; where etcd lives is tapr's addition (the image has it at /usr/local/bin/etcd).
      { NAMESPACE: 'default', TAPR_ETCD_BINARY: binaryPaths().etcd },
    ).start();
    const etcd = new Etcd3({ hosts: `http://127.0.0.1:${etcdClient}` });
    const client = schedulerClient(`127.0.0.1:${port}`);
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${healthz}/healthz`).catch(() => undefined))?.status === 200, { what: 'healthz 200', timeoutMs: 20_000 });
      const leadership = await waitFor(async () => (await etcd.get(`dapr/leadership/${id}`).string().catch(() => null)) ?? undefined, { what: 'leadership key in etcd', timeoutMs: 10_000 });
      expect(JSON.parse(leadership)).toMatchObject({ total: 1, host: `127.0.0.1:${port}` });

      await call(client, 'ScheduleJob', { name: 'visible', job: { dueTime: '1h' }, metadata: jobMeta('default', 'app') }, 20_000);
      expect(await etcd.get('dapr/jobs/app||default||app||visible').string()).not.toBeNull();
      const text = await (await fetch(`http://127.0.0.1:${metrics}/`)).text();
      for (const name of [
        'dapr_scheduler_sidecars_connected',
        'dapr_scheduler_jobs_created_total',
        'dapr_scheduler_jobs_triggered_total',
        'dapr_scheduler_jobs_failed_total',
        'dapr_scheduler_jobs_undelivered_total',
        'dapr_scheduler_trigger_latency',
      ]) {
        expect(text).toContain(name);
      }
      expect(text).toMatch(/dapr_scheduler_jobs_created_total\{type="job"\} 1/);
    } finally {
      client.close();
      etcd.close();
    }
    expect(await proc.kill('SIGTERM')).toBe(0);
    // etcd went with it: its client port is free again.
    await waitFor(async () => (await fetch(`http://127.0.0.1:${etcdClient}/health`).catch(() => 'gone')) === 'gone' || undefined, { what: 'etcd stopped' });
    await rm(dir, { recursive: true, force: true });
  });
});
