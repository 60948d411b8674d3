// No service binary loads client-node's generated API models (about 70 MiB RSS, see clusterAccess.ts): each built
// `main.js` is started with `--help` (every static import is loaded before it prints its usage and exits) under
// a module hook that logs what was loaded — ES modules as they resolve, CommonJS modules from require's cache.
// Needs the services built (`npm run build`, which `npm test` runs first).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const root = path.resolve(process.cwd());
const services = ['sentry', 'operator', 'injector', 'placement'];
// client-node's entry points that load the generated models: its index, KubeConfig (config.js), and gen/ itself.
const heavy = /@kubernetes\/client-node\/dist\/(gen\/|index\.js|config\.js|api\.js)/;

const hookSource = `
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(process.env.TAPR_IMPORT_LOG, result.url + '\\n');
  return result;
}
`;
const preloadSource = (hookUrl: string) => `
import { register, createRequire } from 'node:module';
import { appendFileSync } from 'node:fs';
register(${JSON.stringify(hookUrl)});
const require = createRequire(import.meta.url);
process.on('exit', () => appendFileSync(process.env.TAPR_IMPORT_LOG, Object.keys(require.cache).join('\\n') + '\\n'));
`;

function loadedModules(name: string, main: string, dir: string): string[] {
  const log = path.join(dir, `${name}.log`);
  writeFileSync(log, '');
  const result = spawnSync(process.execPath, ['--import', pathToFileURL(path.join(dir, 'preload.mjs')).href, main, '--help'], {
    env: { PATH: process.env['PATH'], TAPR_IMPORT_LOG: log },
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (result.status !== 0) throw new Error(`${main} --help exited with ${result.status}: ${result.stderr}`);
  return readFileSync(log, 'utf8').split('\n').filter(Boolean);
}

describe('the services’ import graphs', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'import-graph-'));
    writeFileSync(path.join(dir, 'hook.mjs'), hookSource);
    writeFileSync(path.join(dir, 'preload.mjs'), preloadSource(pathToFileURL(path.join(dir, 'hook.mjs')).href));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe('when a service binary starts', () => {
    it.each(services)("%s loads none of client-node's generated API models", (service) => {
      const main = path.join(root, service, 'dist', 'src', 'main.js');
      if (!existsSync(main)) throw new Error(`${main} is missing: build first (npm run build)`);
      const modules = loadedModules(service, main, dir);
      // The hook sees the service's own modules (proof that it watched this graph), and nothing heavy.
      expect(modules.some((url) => url.includes(`/${service}/dist/src/main.js`))).toBe(true);
      expect(modules.filter((url) => heavy.test(url))).toEqual([]);
    });
  });

  describe('when the check itself is checked', () => {
    it("sees client-node's index when a module imports it", () => {
      const probe = path.join(dir, 'probe.mjs');
      const index = path.join(root, 'node_modules', '@kubernetes', 'client-node', 'dist', 'index.js');
      writeFileSync(probe, `import ${JSON.stringify(pathToFileURL(index).href)};\n`);
      expect(loadedModules('probe', probe, dir).some((url) => heavy.test(url))).toBe(true);
    });
  });
});
