// The AdmissionReview the bench sends: what the ReplicaSet controller sends for a pod of an annotated Deployment.
export const reviewBody = JSON.stringify({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    requestKind: { group: '', version: 'v1', kind: 'Pod' },
    requestResource: { group: '', version: 'v1', resource: 'pods' },
    namespace: 'shop',
    operation: 'CREATE',
    userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller', uid: 'controller-uid', groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'] },
    object: {
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: {
        generateName: 'orders-7d4f8b9c5-',
        namespace: 'shop',
        labels: { app: 'orders', 'pod-template-hash': '7d4f8b9c5' },
        annotations: { 'dapr.io/enabled': 'true', 'dapr.io/app-id': 'orders', 'dapr.io/app-port': '8080', 'dapr.io/config': 'tracing', 'dapr.io/log-level': 'info' },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'orders-7d4f8b9c5', uid: 'e8b9a5a6-1c7d-4b8e-9f0a-1b2c3d4e5f60', controller: true, blockOwnerDeletion: true }],
      },
      spec: {
        volumes: [{ name: 'kube-api-access-abcde', projected: { sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: 'token' } }, { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } }], defaultMode: 420 } }],
        containers: [
          {
            name: 'app',
            image: 'example.com/orders:1.4.2',
            ports: [{ containerPort: 8080, protocol: 'TCP' }],
            env: [{ name: 'LOG_FORMAT', value: 'json' }],
            resources: { requests: { cpu: '100m', memory: '128Mi' } },
            volumeMounts: [{ name: 'kube-api-access-abcde', readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }],
            terminationMessagePath: '/dev/termination-log',
            terminationMessagePolicy: 'File',
            imagePullPolicy: 'IfNotPresent',
          },
        ],
        restartPolicy: 'Always',
        terminationGracePeriodSeconds: 30,
        dnsPolicy: 'ClusterFirst',
        serviceAccountName: 'default',
        serviceAccount: 'default',
        securityContext: {},
        schedulerName: 'default-scheduler',
        tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }],
        priority: 0,
        enableServiceLinks: true,
        preemptionPolicy: 'PreemptLowerPriority',
      },
      status: {},
    },
    oldObject: null,
    dryRun: false,
    options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
  },
});

/**
 * What varies between the requests of a run (every request always gets a uid of its own, as from the API server):
 * - replicas: nothing else — the pods of one ReplicaSet (or Job) scale-up, answered once and reused;
 * - pods: the pod (a label), not what the sidecar is built from — every answer is built afresh, as for the pods
 *   of a StatefulSet or DaemonSet (own names, own node affinity) or the first pod of each new ReplicaSet;
 * - apps: the app (app id, and so the daprd container) — every answer and every sidecar differs.
 */
export const workloads = ['replicas', 'pods', 'apps'];

const uidText = '705ab4f5-6393-11e8-b7cc-42010a800002';

/** The body of the n-th request of a workload. */
export function requestBody(workload, n) {
  const body = reviewBody.replace(uidText, `${uidText.slice(0, -12)}${String(n).padStart(12, '0')}`);
  switch (workload) {
    case 'replicas':
      return body;
    case 'pods':
      return body.replace('"pod-template-hash":"7d4f8b9c5"', `"pod-template-hash":"h${n}"`);
    case 'apps':
      return body.replaceAll('"orders"', `"orders-${n}"`);
    default:
      throw new Error(`unknown workload ${workload}: expected one of ${workloads.join(', ')}`);
  }
}
