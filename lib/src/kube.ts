// The lean Kubernetes client every service uses (`@tapr/lib/kube`, also re-exported by lib's index): cluster access
// found the way Dapr's binaries find it, a JSON client over node:https, a list+watch informer, Lease leader
// election and Events. None of it loads client-node's generated API models (see kube/clusterAccess.ts).
export * from './kube/clusterAccess.js';
export * from './kube/kubeHttp.js';
export * from './kube/resourceSource.js';
export * from './kube/informer.js';
export * from './kube/leaderElection.js';
export * from './kube/eventRecorder.js';
