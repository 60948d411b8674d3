import { decodeJobs, decodeResults, encodeJobs, encodeResults, type WorkerJob, type WorkerResult } from './workerProtocol.js';

describe('the signing worker protocol', () => {
  describe('when a batch of jobs is packed and read back', () => {
    const jobs: WorkerJob[] = [
      { id: 1, generation: 7, csr: Buffer.from('csr one'), uri: 'spiffe://public/ns/a/b', dnsNames: [], notBefore: 1_700_000_000_000, notAfter: 1_700_086_400_000 },
      {
        id: 4_000_000_000,
        generation: 8,
        csr: Buffer.alloc(70_000, 0x30),
        uri: `spiffe://public/ns/dapr-system/${'x'.repeat(70_000)}`,
        dnsNames: ['dapr-scheduler-server-0.dapr-scheduler-server.dapr-system.svc.cluster.local', 'ünïcode.example'],
        notBefore: -1,
        notAfter: 2_556_057_600_000,
      },
      { id: 3, generation: 7, csr: new Uint8Array(0), uri: '', dnsNames: [''], notBefore: 0, notAfter: 0 },
    ];

    it('gives back every field, long ones and non-ASCII text included', () => {
      const decoded = decodeJobs(encodeJobs(jobs));
      expect(decoded.map((job) => ({ ...job, csr: Buffer.from(job.csr) }))).toEqual(jobs.map((job) => ({ ...job, csr: Buffer.from(job.csr) })));
    });

    it('hands over one ArrayBuffer of exactly the packed size, so a transfer moves nothing else', () => {
      const packed = encodeJobs(jobs.slice(0, 1));
      expect(packed).toBeInstanceOf(ArrayBuffer);
      expect(packed.byteLength).toBe(4 + 4 + 8 + 8 + 4 + 'spiffe://public/ns/a/b'.length + 4 + 4 + 'csr one'.length);
    });
  });

  describe('when a batch of results is packed and read back', () => {
    it('gives back each leaf and each refusal with its problem and message', () => {
      const results: WorkerResult[] = [
        { id: 1, der: Buffer.from([0x30, 0x03, 1, 2, 3]) },
        { id: 2, error: { problem: 'bad-signature', message: 'invalid signature: the CSR is not signed by the key it contains' } },
        { id: 3, error: { problem: 'malformed', message: 'failed to parse certificate signing request: ünïcode' } },
        { id: 4, error: { problem: 'unsupported', message: 'unsupported' } },
        { id: 5, error: { problem: 'internal', message: 'issuer generation 9 is unknown to the signing worker' } },
      ];
      const decoded: WorkerResult[] = [];
      decodeResults(encodeResults(results), (result) => decoded.push(result.der ? { ...result, der: Buffer.from(result.der) } : result));
      expect(decoded).toEqual(results);
    });
  });
});
