// The webhook under load: the injector's real WebhookServer + Admission (from injector/dist) on HTTPS with a
// throwaway certificate; or (modes bare/canned, see run.mjs) a bare node:https handler answering a fixed review.
// Prints "listening <port>" on stdout once ready. Started by run.mjs.
import https from 'node:https';
import { PerformanceObserver } from 'node:perf_hooks';
import { createMetricsRegistry, Readiness, silentLogger } from '../../lib/dist/src/index.js';
import { createCa, issueCertificate } from '../../lib/dist/src/testing/pki.js';
import { Admission } from '../../injector/dist/src/admission.js';
import { CallerAuthorisation, ServiceAccountMatcher } from '../../injector/dist/src/callerAuthorisation.js';
import { InjectorMetrics } from '../../injector/dist/src/metrics.js';
import { CertificateHolder } from '../../injector/dist/src/servingCertificate.js';
import { SidecarTemplate } from '../../injector/dist/src/sidecarContainer.js';
import { ReviewResponder } from '../../injector/dist/src/reviewResponder.js';
import { WebhookServer } from '../../injector/dist/src/webhookServer.js';
import { admissionResponse, parseAdmissionReview } from '../../injector/dist/src/admissionReview.js';
import { testEnvironment } from '../../injector/dist/src/testdata/environment.js';
import { reviewBody } from './review.mjs';

const mode = process.argv[2] ?? 'injector';
process.on('SIGTERM', () => process.exit(0)); // exit normally, so --cpu-prof (BENCH_PROFILE=1) writes its profile

// Asked over IPC by run.mjs: CPU used and time spent in garbage collection so far (the cost per review is the
// difference between two answers divided by the reviews in between).
let gcMs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMs += entry.duration;
}).observe({ entryTypes: ['gc'] });
// Time spent answering (ReviewResponder.respond: parse, cache, admission, encoding), wrapped here so the injector
// itself carries no bench hooks; the rest of the server's CPU is HTTP, TLS and the kernel.
let answerMs = 0;
const respond = ReviewResponder.prototype.respond;
ReviewResponder.prototype.respond = function timedRespond(body) {
  const started = performance.now();
  try {
    return respond.call(this, body);
  } finally {
    answerMs += performance.now() - started;
  }
};
process.on('message', () => {
  const { user, system } = process.cpuUsage();
  process.send({ cpuSeconds: (user + system) / 1e6, gcMs, answerMs });
});
process.channel?.unref();
const ca = await createCa('bench CA');
const leaf = await issueCertificate(ca, { commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usage: 'server' });
const trustAnchors = (await createCa('bench trust anchors')).certPem;

const admission = new Admission({
  template: new SidecarTemplate(testEnvironment),
  authorisation: (() => {
    const authorisation = new CallerAuthorisation(new ServiceAccountMatcher(''));
    authorisation.setAllowedUids(['controller-uid']);
    return authorisation;
  })(),
  trustAnchors: () => trustAnchors,
  mtlsEnabled: () => true,
});

if (mode === 'bare' || mode === 'canned') {
  const { apiVersion, request } = parseAdmissionReview(reviewBody);
  const answer = Buffer.from(
    mode === 'canned'
      ? admissionResponse(apiVersion, request.uid, admission.review(request))
      : JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: request.uid, allowed: true } }),
  );
  const server = https.createServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'content-length': answer.length }).end(answer));
  });
  server.keepAliveTimeout = 120_000;
  server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
} else {
  class Fixed extends CertificateHolder {
    constructor() {
      super();
      this.set({ certChainPem: leaf.certPem, keyPem: leaf.keyPem, caBundlePem: ca.certPem });
    }
  }
  const server = new WebhookServer({
    port: 0,
    host: '127.0.0.1',
    certificates: new Fixed(),
    admission,
    metrics: new InjectorMetrics(createMetricsRegistry()),
    readiness: new Readiness().target('injector-service'),
    logger: silentLogger(),
  });
  server.run(new AbortController().signal);
  const wait = () => (server.port === 0 ? setTimeout(wait, 10) : console.log(`listening ${server.port}`));
  wait();
}
