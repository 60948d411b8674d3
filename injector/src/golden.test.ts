// Golden fixtures: a pod as the API server sends it (testdata/golden/*.yaml, `request`) and the JSON Patch the
// injector answers with (`patch`; absent when the pod is left unchanged). `UPDATE_GOLDEN=1` rewrites the patches;
// review the diff before committing.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { Admission, type AdmissionRequest } from './admission.js';
import { CallerAuthorisation, ServiceAccountMatcher } from './callerAuthorisation.js';
import { applyPatch, plainDiffPatch } from './jsonPatch.js';
import type { PodJson } from './kubeTypes.js';
import { SidecarTemplate } from './sidecarContainer.js';
import { testEnvironment } from './testdata/environment.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata', 'golden');
const trustAnchors = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

const authorisation = new CallerAuthorisation(new ServiceAccountMatcher(''));
authorisation.setAllowedUids(['controller-uid']);
const admission = new Admission({ template: new SidecarTemplate(testEnvironment), authorisation, trustAnchors: () => trustAnchors, mtlsEnabled: () => true });

describe('golden admission fixtures', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));

  it('has fixtures', () => expect(files.length).toBeGreaterThanOrEqual(4));

  describe.each(files)('%s', (file) => {
    const fullPath = path.join(dir, file);
    const text = readFileSync(fullPath, 'utf8');
    const fixture = yaml.load(text) as { request: Omit<AdmissionRequest, 'uid' | 'kind' | 'operation'>; patch?: unknown };
    const request: AdmissionRequest = { uid: 'u', kind: { kind: 'Pod' }, operation: 'CREATE', ...fixture.request };

    it('answers with the recorded patch', () => {
      const outcome = admission.review(request);
      if (outcome instanceof Promise) throw new Error('fixtures must not need a Component lookup');
      const patch = outcome.result === 'injected' ? outcome.patch : undefined;
      if (process.env['UPDATE_GOLDEN']) {
        const head = text.split(/\npatch:/)[0]!.trimEnd();
        writeFileSync(fullPath, patch ? `${head}\npatch:\n${yaml.dump(patch, { lineWidth: 140, noRefs: true }).replace(/^/gm, '  ').trimEnd()}\n` : `${head}\n`);
        return;
      }
      expect(patch).toEqual(fixture.patch);
    });

    it('answers with the plain diff between the pod and the patched pod', () => {
      const outcome = admission.review(request) as Awaited<ReturnType<Admission['review']>>;
      if (outcome.result !== 'injected') return;
      const pod = request.object as PodJson;
      expect(outcome.patch).toEqual(plainDiffPatch(pod, applyPatch(pod, outcome.patch)));
    });

    it('patches into a pod with exactly one daprd', () => {
      const outcome = admission.review(request) as Awaited<ReturnType<Admission['review']>>;
      const pod = outcome.result === 'injected' ? applyPatch(request.object as PodJson, outcome.patch) : (request.object as PodJson);
      expect(pod.spec!.containers!.filter((c) => c.name === 'daprd')).toHaveLength(1);
    });
  });
});
