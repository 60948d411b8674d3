export * from './binaries.js';
export * from './localCluster.js';
export * from './kubeTest.js';
export * from './pki.js';
export * from './ports.js';
export * from './wait.js';
export * from './svid.js';
export * from './crds.js';
