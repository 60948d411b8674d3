// The demo's way of talking to its reader and its cluster: numbered steps with timings, indented output, kubectl.
import { X509Certificate } from 'node:crypto';
import { kubectl } from '@tapr/lib/testing';

export class Walkthrough {
  #step = 0;
  readonly started = Date.now();

  constructor(
    private readonly steps: number,
    private readonly kubeconfig: string,
  ) {}

  /** Prints `[n/steps] title …`; the function it returns prints how long the step took. */
  heading(title: string): () => void {
    this.#step += 1;
    const at = Date.now();
    process.stdout.write(`\n[${this.#step}/${this.steps}] ${title} …\n`);
    return () => process.stdout.write(`      done in ${((Date.now() - at) / 1000).toFixed(1)} s\n`);
  }

  show(text: string): void {
    process.stdout.write(`${text.replace(/\s+$/, '').replace(/^/gm, '      ')}\n`);
  }

  /** A workload certificate as the seed shows it: SPIFFE ID, issuer, validity, and whether `chain` (leaf first) links
   * up to the published trust anchors. */
  showCertificate(chain: X509Certificate[], anchorsPem: string): void {
    const leaf = chain[0]!;
    const root = new X509Certificate(anchorsPem);
    const linked = chain.every((cert, i) => i === chain.length - 1 || cert.verify(chain[i + 1]!.publicKey));
    const last = chain.at(-1)!;
    const anchored = last.fingerprint256 === root.fingerprint256 || last.verify(root.publicKey);
    this.show(`SPIFFE ID  ${/URI:(spiffe:\/\/[^,\s]+)/.exec(leaf.subjectAltName ?? '')?.[1]}`);
    this.show(`issuer     ${leaf.issuer.replace(/\n/g, ', ')}`);
    this.show(`valid      ${leaf.validFrom} → ${leaf.validTo}`);
    this.show(`chains to the trust anchors in ConfigMap dapr-trust-bundle: ${linked && anchored}`);
  }

  /** kubectl against the demo's cluster; its output, or an error with kubectl's message. */
  async kube(...args: string[]): Promise<string> {
    const result = await kubectl(args, { kubeconfig: this.kubeconfig });
    if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr}`);
    return result.stdout;
  }

  async apply(yaml: string, namespace: string): Promise<string> {
    const result = await kubectl(['apply', '-n', namespace, '-f', '-'], { kubeconfig: this.kubeconfig, input: yaml });
    if (result.code !== 0) throw new Error(`kubectl apply failed: ${result.stderr}`);
    return result.stdout;
  }
}
