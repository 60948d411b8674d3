// Who may create pods that get a sidecar (spec §5.2). A sidecar carries the app's identity (sentry signs the
// app id the pod's annotation names), so a user who can write a pod by hand must not be able to claim another
// app's id through the injector. Allowed callers are:
//   - the Kubernetes controllers that create pods from workloads (by service-account UID, looked up at start
//     and refreshed: kube-system's replicaset/deployment/job/… controllers, plus ALLOWED_SERVICE_ACCOUNTS);
//   - members of system:masters (cluster admins);
//   - service accounts matching ALLOWED_SERVICE_ACCOUNTS_PREFIX_NAMES ("ns:name" pairs, `*` as a suffix).

export const builtInControllerAccounts = [
  'kube-system:replicaset-controller',
  'kube-system:replication-controller',
  'kube-system:deployment-controller',
  'kube-system:cronjob-controller',
  'kube-system:job-controller',
  'kube-system:statefulset-controller',
  'kube-system:daemon-set-controller',
  'openshift-operator-lifecycle-manager:olm-operator-serviceaccount',
  'tekton-pipelines:tekton-pipelines-controller',
  'mirrord:mirrord-operator',
] as const;

export interface AccountRef {
  namespace: string;
  name: string;
}

export interface UserInfo {
  username?: string;
  uid?: string;
  groups?: string[];
}

/** Parses "ns:name,ns:name" (ALLOWED_SERVICE_ACCOUNTS); throws naming the bad entry. */
export function parseAccountList(text: string, variable: string): AccountRef[] {
  return text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      const [namespace, name, ...rest] = entry.split(':').map((piece) => piece.trim());
      if (!namespace || !name || rest.length > 0) throw new Error(`${variable}: "${entry}" is not of the form namespace:serviceaccount`);
      return { namespace, name };
    });
}

interface Pattern {
  text: string;
  prefix: boolean;
}

function pattern(text: string, variable: string, entry: string): Pattern {
  const star = text.indexOf('*');
  if (star === -1) return { text, prefix: false };
  if (star !== text.length - 1) {
    throw new Error(`${variable}: "${entry}" may use "*" only as the last character of the namespace or the name (a prefix match)`);
  }
  return { text: text.slice(0, -1), prefix: true };
}

const matches = (p: Pattern, value: string) => (p.prefix ? value.startsWith(p.text) : value === p.text);

/** ALLOWED_SERVICE_ACCOUNTS_PREFIX_NAMES: "ns:name" pairs where either side may end in `*`. */
export class ServiceAccountMatcher {
  readonly #pairs: Array<{ namespace: Pattern; name: Pattern }>;

  constructor(text: string, variable = 'ALLOWED_SERVICE_ACCOUNTS_PREFIX_NAMES') {
    this.#pairs = text
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '')
      .map((entry) => {
        const pieces = entry.split(':').map((piece) => piece.trim());
        if (pieces.length !== 2) throw new Error(`${variable}: "${entry}" is not of the form namespace:serviceaccount`);
        const [namespace, name] = pieces as [string, string];
        if (!namespace && !name) throw new Error(`${variable}: "${entry}" names neither a namespace nor a service account`);
        const pair = { namespace: pattern(namespace, variable, entry), name: pattern(name, variable, entry) };
        if (pair.namespace.prefix && pair.name.prefix && !pair.namespace.text && !pair.name.text) {
          throw new Error(`${variable}: "${entry}" would allow every service account`);
        }
        return pair;
      });
  }

  matches(namespace: string, name: string): boolean {
    return this.#pairs.some((pair) => matches(pair.namespace, namespace) && matches(pair.name, name));
  }
}

const serviceAccountPrefix = 'system:serviceaccount:';

export class CallerAuthorisation {
  #allowedUids: ReadonlySet<string> = new Set();
  #version = 0;

  constructor(private readonly matcher: ServiceAccountMatcher) {}

  /** Replaces the allowed controller UIDs (from the service-account lookup). */
  setAllowedUids(uids: Iterable<string>): void {
    const next = new Set(uids);
    if (next.size === this.#allowedUids.size && [...next].every((uid) => this.#allowedUids.has(uid))) return;
    this.#allowedUids = next;
    this.#version++;
  }

  /** Changes whenever the allowed UIDs do (answers cached under an older version are stale). */
  get version(): number {
    return this.#version;
  }

  get allowedUidCount(): number {
    return this.#allowedUids.size;
  }

  isAllowed(user: UserInfo | undefined): boolean {
    if (!user) return false;
    if (user.groups?.includes('system:masters')) return true;
    if (user.uid && this.#allowedUids.has(user.uid)) return true;
    const username = user.username ?? '';
    if (!username.startsWith(serviceAccountPrefix)) return false;
    const [namespace, name, ...rest] = username.slice(serviceAccountPrefix.length).split(':');
    return rest.length === 0 && !!namespace && !!name && this.matcher.matches(namespace, name);
  }
}
