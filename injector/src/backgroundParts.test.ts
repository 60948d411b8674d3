import { Readiness, silentLogger } from '@tapr/lib';
import { CaBundlePatcher } from './caBundlePatcher.js';
import { CallerAuthorisation, ServiceAccountMatcher } from './callerAuthorisation.js';
import { ControllerAccounts } from './controllerAccounts.js';
import { MtlsSetting } from './mtlsSetting.js';
import { CertificateHolder, type ServingCertificate } from './servingCertificate.js';
import { FakeKube } from './testdata/fakeKube.js';
import { waitFor } from '@tapr/lib/testing';

class SettableCertificate extends CertificateHolder {
  put(certificate: ServingCertificate): void {
    this.set(certificate);
  }
}

const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('CaBundlePatcher', () => {
  describe('when the certificate source has a bundle', () => {
    it('patches it, becomes ready, re-patches on change, and retries after errors', async () => {
      const kube = new FakeKube();
      const readiness = new Readiness();
      const target = readiness.target('webhook-configuration');
      const certificates = new SettableCertificate();
      const controller = new AbortController();
      const patcher = new CaBundlePatcher({ kube, configurationName: 'dapr-sidecar-injector', certificates, readiness: target, logger: silentLogger(), resyncMs: 60_000 });
      kube.failing.add('patch');
      const running = patcher.run(controller.signal);
      certificates.put({ certChainPem: 'c', keyPem: 'k', caBundlePem: 'CA-1' });
      await waitFor(() => kube.patchCalls >= 1, { what: 'a first (failing) patch' });
      expect(readiness.ready).toBe(false);
      kube.failing.delete('patch');
      await waitFor(() => kube.caBundles.get('dapr-sidecar-injector') === b64('CA-1'), { what: 'the retried patch', timeoutMs: 5000 });
      expect(readiness.ready).toBe(true);
      certificates.put({ certChainPem: 'c2', keyPem: 'k2', caBundlePem: 'CA-2' });
      await waitFor(() => kube.caBundles.get('dapr-sidecar-injector') === b64('CA-2'), { what: 'the bundle change' });
      controller.abort();
      await running;
    });
  });

  describe('when stopped before any certificate exists', () => {
    it('returns without patching', async () => {
      const kube = new FakeKube();
      const controller = new AbortController();
      const running = new CaBundlePatcher({
        kube,
        configurationName: 'x',
        certificates: new SettableCertificate(),
        readiness: new Readiness().target('w'),
        logger: silentLogger(),
      }).run(controller.signal);
      controller.abort();
      await running;
      expect(kube.patchCalls).toBe(0);
    });
  });
});

describe('ControllerAccounts', () => {
  it('allows the UIDs of the accounts that exist and turns ready', async () => {
    const kube = new FakeKube();
    kube.serviceAccounts.set('kube-system/replicaset-controller', 'uid-1');
    const authorisation = new CallerAuthorisation(new ServiceAccountMatcher(''));
    const readiness = new Readiness();
    const controller = new AbortController();
    const running = new ControllerAccounts({
      accounts: [
        { namespace: 'kube-system', name: 'replicaset-controller' },
        { namespace: 'tekton-pipelines', name: 'tekton-pipelines-controller' },
      ],
      kube,
      authorisation,
      readiness: readiness.target('allowed-service-accounts'),
      logger: silentLogger(),
    }).run(controller.signal);
    await waitFor(() => readiness.ready, { what: 'readiness' });
    expect(authorisation.isAllowed({ uid: 'uid-1' })).toBe(true);
    expect(authorisation.allowedUidCount).toBe(1);
    controller.abort();
    await running;
  });

  it('stays not ready while the API server fails', async () => {
    const kube = new FakeKube();
    kube.failing.add('serviceAccount');
    const readiness = new Readiness();
    const controller = new AbortController();
    const running = new ControllerAccounts({
      accounts: [{ namespace: 'kube-system', name: 'job-controller' }],
      kube,
      authorisation: new CallerAuthorisation(new ServiceAccountMatcher('')),
      readiness: readiness.target('allowed-service-accounts'),
      logger: silentLogger(),
    }).run(controller.signal);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(readiness.ready).toBe(false);
    controller.abort();
    await running;
  });
});

describe('MtlsSetting', () => {
  it('reads spec.mtls.enabled of daprsystem, defaults to true, and keeps the last value on errors', async () => {
    const kube = new FakeKube();
    const setting = new MtlsSetting({ kube, namespace: 'dapr-system', logger: silentLogger() });
    await setting.refresh();
    expect(setting.enabled).toBe(true);
    kube.configurations.set('dapr-system/daprsystem', { spec: { mtls: { enabled: false } } });
    await setting.refresh();
    expect(setting.enabled).toBe(false);
    kube.failing.add('configuration');
    await setting.refresh();
    expect(setting.enabled).toBe(false);
    kube.failing.delete('configuration');
    kube.configurations.set('dapr-system/daprsystem', { spec: {} });
    await setting.refresh();
    expect(setting.enabled).toBe(true);
  });
});
