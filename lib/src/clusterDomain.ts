// The Kubernetes cluster domain (e.g. `cluster.local`), needed for the scheduler's DNS names (sentry issues them,
// the scheduler's etcd peers check them). Like Dapr, both read it from the DNS search list in /etc/resolv.conf
// (`<ns>.svc.<domain>`) and fall back to the trust domain.
import { readFileSync } from 'node:fs';

export function clusterDomainFromResolvConf(text: string | undefined): string | undefined {
  for (const line of (text ?? '').split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0] !== 'search') continue;
    for (const domain of words.slice(1)) {
      const match = /^svc\.(.+)$/.exec(domain);
      if (match) return match[1];
    }
  }
  return undefined;
}

export function kubernetesClusterDomain(fallback: string, file = '/etc/resolv.conf'): string {
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    text = undefined;
  }
  return clusterDomainFromResolvConf(text) ?? fallback;
}
