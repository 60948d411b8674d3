// The service images, checked without Docker (these machines have none): each Dockerfile's shape, and the runtime
// tree its build stage lays out with e2e/images/assemble.sh — assembled here the same way, then started.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { builtinModules } from 'node:module';
import { defaults as schedulerDefaults } from '@tapr/scheduler/options';
import { repoRoot } from '../src/helm.js';

// Services whose Dockerfile is the two-stage one; the scheduler's has a third stage for etcd (checked on its own).
const services = ['sentry', 'operator', 'injector', 'placement'] as const;
const allServices = [...services, 'scheduler'] as const;
const workspaces: string[] = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).workspaces;
const pinnedEtcd = /^ETCD_VERSION=(\S+)$/m.exec(readFileSync(path.join(repoRoot, 'lib', 'testing', 'versions.env'), 'utf8'))![1]!;
const readDockerfile = (service: string) => readFileSync(path.join(repoRoot, service, 'Dockerfile'), 'utf8');

/** What every service Dockerfile shares: Node 20 distroless runtime, numeric user, /<service> entry point. */
function expectServiceRuntime(dockerfile: string, service: string): void {
  expect(dockerfile).toMatch(/^ARG NODE_VERSION=20$/m);
  expect(dockerfile).toMatch(/^ARG RUNTIME_IMAGE=gcr\.io\/distroless\/nodejs20-debian12:nonroot$/m);
  const users = dockerfile.match(/^USER .*$/gm)!;
  expect(users.at(-1)).toMatch(/^USER \d+:\d+$/);
  expect(dockerfile).toContain(`ENTRYPOINT ["/${service}"]`);
  expect(dockerfile).toContain(`COPY --from=build /out/launcher /${service}`);
  expect(dockerfile).toContain(`RUN npx tsc -b ${service} && sh e2e/images/assemble.sh ${service} /out "$NODE_BIN"`);
}

/** COPY sources exist and pass .dockerignore; every workspace manifest is there (npm ci and assemble.sh read them all). */
function expectCopiesResolve(dockerfile: string): void {
  const ignore = readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8');
  const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
  expect(sources.length).toBeGreaterThan(5);
  for (const source of sources) expect([source, existsSync(path.join(repoRoot, source))]).toEqual([source, true]);
  expect(sources).toContain('e2e/images/assemble.sh');
  expect(ignore).toMatch(/^!e2e\/images\/assemble\.sh$/m);
  for (const workspace of workspaces) expect(sources).toContain(`${workspace}/package.json`);
}

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? jsFiles(full) : entry.name.endsWith('.js') ? [full] : [];
  });
}

/** Bare package imports of a module that Node would not find in any node_modules above it. */
function unresolvedPackages(file: string, root: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm)].map(
    (m) => m[1] ?? m[2] ?? m[3]!,
  );
  const missing: string[] = [];
  for (const specifier of specifiers) {
    if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:') || builtinModules.includes(specifier)) continue;
    const parts = specifier.split('/');
    const pkg = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
    let dir = path.dirname(file);
    let found = false;
    while (dir.startsWith(root)) {
      if (existsSync(path.join(dir, 'node_modules', pkg, 'package.json'))) {
        found = true;
        break;
      }
      dir = path.dirname(dir);
    }
    if (!found) missing.push(`${path.relative(root, file)} imports ${pkg}`);
  }
  return missing;
}

describe('the scheduler image', () => {
  const dockerfile = readDockerfile('scheduler');

  describe('its Dockerfile', () => {
    it('takes etcd from the official image of the pinned version, builds in one stage and runs from a Node 20 distroless stage', () => {
      const froms = dockerfile.match(/^FROM .*$/gm)!;
      expect(froms).toEqual(['FROM gcr.io/etcd-development/etcd:${ETCD_VERSION} AS etcd', 'FROM node:${NODE_VERSION}-bookworm-slim AS build', 'FROM ${RUNTIME_IMAGE}']);
      expect(dockerfile).toMatch(new RegExp(`^ARG ETCD_VERSION=${pinnedEtcd.replace(/\./g, '\\.')}$`, 'm'));
      expectServiceRuntime(dockerfile, 'scheduler');
    });

    it('puts etcd where the scheduler looks for it, in the runtime stage', () => {
      const runtime = dockerfile.slice(dockerfile.lastIndexOf('FROM ${RUNTIME_IMAGE}'));
      expect(runtime).toMatch(/^COPY --from=etcd \/usr\/local\/bin\/etcd \/usr\/local\/bin\/etcd$/m);
      expect(schedulerDefaults.imageEtcdBinary).toBe('/usr/local/bin/etcd');
      expect(runtime).toMatch(/^EXPOSE 50006 2379 2380 8080 9090$/m);
    });

    it('copies only files that exist and that .dockerignore lets through', () => {
      expectCopiesResolve(dockerfile);
    });
  });
});

describe.each(services)('the %s image', (service) => {
  const dockerfile = readDockerfile(service);

  describe('its Dockerfile', () => {
    it('builds in one stage and runs from a Node 20 distroless stage as a numeric non-root user', () => {
      const froms = dockerfile.match(/^FROM .*$/gm)!;
      expect(froms).toEqual(['FROM node:${NODE_VERSION}-bookworm-slim AS build', 'FROM ${RUNTIME_IMAGE}']);
      expectServiceRuntime(dockerfile, service);
    });

    it('copies only files that exist and that .dockerignore lets through', () => {
      expectCopiesResolve(dockerfile);
    });
  });
});

describe.each(allServices)('the %s image', (service) => {
  describe('its runtime tree', () => {
    let out: string;
    let work: string;
    beforeAll(() => {
      work = mkdtempSync(path.join(tmpdir(), `tapr-image-${service}-`));
      out = path.join(work, 'app');
      const result = spawnSync('sh', ['e2e/images/assemble.sh', service, out], { cwd: repoRoot, encoding: 'utf8' });
      if (result.status !== 0) throw new Error(`assemble.sh ${service} failed (${result.status}): ${result.stderr}${result.stdout}`);
    }, 180_000);
    afterAll(() => rmSync(work, { recursive: true, force: true }));

    it('holds the service, lib and production dependencies only', () => {
      expect(readdirSync(out).sort()).toEqual(['launcher', 'lib', 'node_modules', 'package-lock.json', 'package.json', service].sort());
      for (const dev of ['jest', 'typescript', 'ts-jest', '@types/jest']) expect([dev, existsSync(path.join(out, 'node_modules', dev))]).toEqual([dev, false]);
      const leftovers = jsFiles(out).filter((f) => f.endsWith('.test.js'));
      expect(leftovers).toEqual([]);
      expect(existsSync(path.join(out, service, 'dist', 'test'))).toBe(false);
      expect(existsSync(path.join(out, 'lib', 'dist', 'src', 'testing'))).toBe(false);
    });

    it('finds every package its compiled code imports', () => {
      const files = [...jsFiles(path.join(out, service, 'dist')), ...jsFiles(path.join(out, 'lib', 'dist'))];
      expect(files.length).toBeGreaterThan(5);
      expect(files.flatMap((file) => unresolvedPackages(file, out))).toEqual([]);
    });

    it('starts through its launcher with an empty environment (--help exits 0)', () => {
      const launcher = readFileSync(path.join(out, 'launcher'), 'utf8');
      expect(launcher).toBe(`#!/nodejs/bin/node\nimport("/app/${service}/dist/src/main.js");\n`);
      expect(statSync(path.join(out, 'launcher')).mode & 0o111).not.toBe(0);
      // The same launcher with /app where this tree is; run by this node as the image's node would run it.
      const local = path.join(work, service);
      writeFileSync(local, launcher.replace('/app/', `${out}/`));
      const result = spawnSync(process.execPath, [local, '--help'], { env: {}, encoding: 'utf8', timeout: 60_000 });
      expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: expect.any(String) });
      expect(`${result.stdout}${result.stderr}`).toContain('--log-level');
    });
  });
});
