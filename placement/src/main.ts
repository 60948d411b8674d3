#!/usr/bin/env node
// tapr placement: a drop-in for Dapr's `placement` binary (flags: options.ts; behaviour: docs/placement.md).
import { createLogger } from '@tapr/lib/logger';
import { readOptionsOrExit, runService } from '@tapr/lib/runner';
import { readOptions } from './options.js';
import { PlacementService } from './app.js';

const options = readOptionsOrExit(() => readOptions({ argv: process.argv.slice(2), env: process.env }));
const logger = createLogger({ scope: 'dapr.placement', level: options.logLevel, json: options.logAsJson, file: options.logFile || undefined });
logger.info('starting tapr placement', {
  id: options.id,
  mode: options.mode,
  election: options.election,
  port: options.port,
  tls: options.tlsEnabled,
  replicationFactor: options.replicationFactor,
});
for (const notice of options.notices) logger.warn(notice);

await runService((signal) => new PlacementService(options, { logger }).run(signal), { logger });
