import { admissionResponse, base64Utf8 } from './admissionReview.js';
import { diffPatch } from './jsonPatch.js';

describe('base64Utf8', () => {
  describe('when the text is ASCII', () => {
    it('encodes it as Buffer does', () => {
      const text = '[{"op":"add","path":"/metadata/labels/dapr.io~1app-id","value":"orders"}]';
      expect(base64Utf8(text)).toBe(Buffer.from(text, 'utf8').toString('base64'));
    });
  });

  describe('when the text has characters past ASCII', () => {
    it('encodes their UTF-8 bytes, not Latin-1', () => {
      for (const text of ['café', 'ÿ', 'naïve — 日本 🚀', '\u00e9\u00e9\u00e9']) {
        expect(Buffer.from(base64Utf8(text), 'base64').toString('utf8')).toBe(text);
      }
    });
  });
});

describe('admissionResponse', () => {
  describe('when a pod is injected', () => {
    it('carries the patch as base64 JSON that reads back to the operations', () => {
      const patch = diffPatch({ metadata: { labels: { a: 'é' } } }, { metadata: { labels: { a: 'é', 'dapr.io/app-id': 'commandé' } } });
      const response = JSON.parse(admissionResponse('admission.k8s.io/v1', 'u-1', { result: 'injected', appId: 'x', patch }));
      expect(response.response).toMatchObject({ uid: 'u-1', allowed: true, patchType: 'JSONPatch' });
      expect(JSON.parse(Buffer.from(response.response.patch, 'base64').toString('utf8'))).toEqual(patch);
    });
  });
});
