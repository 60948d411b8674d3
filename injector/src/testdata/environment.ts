// The injector environment unit tests and golden fixtures use (Helm's defaults in namespace dapr-system).
import type { SidecarEnvironment } from '../sidecarContainer.js';

export const testEnvironment: SidecarEnvironment = {
  image: 'ghcr.io/dapr/daprd:1.17.0',
  imagePullPolicy: 'IfNotPresent',
  controlPlaneNamespace: 'dapr-system',
  controlPlaneTrustDomain: 'cluster.local',
  kubeClusterDomain: 'cluster.local',
  placementAddress: 'dapr-placement-server.dapr-system.svc.cluster.local:50005',
  schedulerEnabled: true,
  runAsNonRoot: true,
  readOnlyRootFilesystem: true,
  dropAllCapabilities: false,
  enableK8sDownwardApis: false,
  ignoreEntrypointTolerations: [],
  tokenVolume: true,
  componentSocketsFolder: '/tmp/dapr-components-sockets',
};

