#!/usr/bin/env node
// tapr scheduler: a drop-in for Dapr's `scheduler` binary (flags: options.ts; behaviour: docs/scheduler.md).
import { createLogger } from '@tapr/lib/logger';
import { readOptionsOrExit, runService } from '@tapr/lib/runner';
import { readOptions } from './options.js';
import { SchedulerService } from './app.js';

const options = readOptionsOrExit(() => readOptions({ argv: process.argv.slice(2), env: process.env }));
const logger = createLogger({ scope: 'dapr.scheduler', level: options.logLevel, json: options.logAsJson, file: options.logFile || undefined });
logger.info('starting tapr scheduler', {
  id: options.id,
  mode: options.mode,
  port: options.port,
  tls: options.tlsEnabled,
  etcd: options.etcd.embed ? { embed: true, initialCluster: options.etcd.initialCluster, clientPort: options.etcd.clientPort } : { endpoints: options.etcd.clientEndpoints },
});
for (const notice of options.notices) logger.warn(notice);

await runService((signal) => new SchedulerService(options, { logger }).run(signal), { logger });
