// tapr's CRD upgrade step (the chart's pre-upgrade Job): server-side applies every <name>.json CRD in the directory
// given as the first argument, then waits until each is Established. No dependencies: node's https module and the
// pod's service-account token. Exit 0 when every CRD is applied and established, 1 otherwise (the Job retries).
import { readFileSync, readdirSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';

const fieldManager = 'tapr-crd-upgrade';
const establishTimeoutMs = 60_000;
// SERVICEACCOUNT_DIR only exists for running this outside a pod (tests); in the Job the default applies.
const accountDir = process.env.SERVICEACCOUNT_DIR || '/var/run/secrets/kubernetes.io/serviceaccount';
const host = process.env.KUBERNETES_SERVICE_HOST;
const port = process.env.KUBERNETES_SERVICE_PORT || '443';

function log(message, fields = {}) {
  console.log(JSON.stringify({ time: new Date().toISOString(), level: 'info', msg: message, ...fields }));
}

function request(method, apiPath, { body, contentType } = {}) {
  const token = readFileSync(path.join(accountDir, 'token'), 'utf8').trim();
  const ca = readFileSync(path.join(accountDir, 'ca.crt'));
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host,
        port,
        method,
        path: apiPath,
        ca,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(body ? { 'content-type': contentType, 'content-length': Buffer.byteLength(body) } : {}),
        },
        timeout: 30_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => {
          if (res.statusCode >= 200 && res.statusCode < 300) return resolve(JSON.parse(text));
          let message = text;
          try {
            message = JSON.parse(text).message ?? text;
          } catch {}
          reject(new Error(`${method} ${apiPath}: HTTP ${res.statusCode}: ${message}`));
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${apiPath}: no answer within 30s`)));
    req.on('error', reject);
    req.end(body);
  });
}

const crdPath = (name) => `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${encodeURIComponent(name)}`;

async function apply(file) {
  const crd = JSON.parse(readFileSync(file, 'utf8'));
  const name = crd?.metadata?.name;
  if (crd?.kind !== 'CustomResourceDefinition' || !name) throw new Error(`${file} is not a CustomResourceDefinition with a name`);
  const query = `?fieldManager=${fieldManager}&force=true`;
  const applied = await request('PATCH', crdPath(name) + query, { body: JSON.stringify(crd), contentType: 'application/apply-patch+yaml' });
  log('applied CRD', { crd: name, generation: applied.metadata?.generation, versions: crd.spec.versions.map((v) => v.name) });
  return name;
}

async function established(name) {
  const deadline = Date.now() + establishTimeoutMs;
  for (;;) {
    const crd = await request('GET', crdPath(name));
    const conditions = crd.status?.conditions ?? [];
    const isTrue = (type) => conditions.some((c) => c.type === type && c.status === 'True');
    if (isTrue('Established') && isTrue('NamesAccepted')) return;
    if (Date.now() > deadline) {
      throw new Error(`CRD ${name} is not Established after ${establishTimeoutMs / 1000}s: ${JSON.stringify(conditions)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function main() {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: apply-crds.mjs <directory of <crd-name>.json files>');
  if (!host) throw new Error('KUBERNETES_SERVICE_HOST is not set: this runs in a pod (or with it set to the API server)');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  if (files.length === 0) throw new Error(`no CRD files (*.json) in ${dir}`);
  const names = [];
  for (const file of files) names.push(await apply(path.join(dir, file)));
  for (const name of names) await established(name);
  log('every CRD is applied and established', { crds: names });
}

main().catch((error) => {
  console.error(JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: 'CRD upgrade failed', error: error.message }));
  process.exit(1);
});
