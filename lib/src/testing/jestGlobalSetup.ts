// jest global setup of the `integration` project: one local control plane per test run. Test files reach it via
// KUBECONFIG (and TAPR_CLUSTER_INFO for the rest of ClusterInfo), which workers inherit from this process.
// The dapr.io CRDs from crds/ are installed before any test runs.
// A developer can point tests at a running cluster (`make cluster-up`) with TAPR_CLUSTER_DIR to skip the start.
import path from 'node:path';
import { startLocalCluster, readClusterInfo, type ClusterInfo } from './localCluster.js';
import { installCrds } from './crds.js';

export default async function globalSetup(): Promise<void> {
  const reuse = process.env['TAPR_CLUSTER_DIR'];
  let info: ClusterInfo | undefined;
  if (reuse) {
    info = readClusterInfo(path.resolve(reuse));
    if (!info) throw new Error(`TAPR_CLUSTER_DIR=${reuse} has no running cluster; run make cluster-up or unset it`);
    process.stdout.write(`\nusing the running local cluster at ${info.server}\n`);
  } else {
    info = await startLocalCluster({ watchPid: process.pid });
    process.stdout.write(`\nlocal cluster ready at ${info.server} in ${info.startedInMs} ms\n`);
    (globalThis as { __taprCluster?: ClusterInfo }).__taprCluster = info;
  }
  const crds = installCrds(info.kubeconfig);
  process.stdout.write(`installed ${crds.length} dapr.io CRD files from crds/\n`);
  process.env['KUBECONFIG'] = info.kubeconfig;
  process.env['TAPR_CLUSTER_INFO'] = JSON.stringify(info);
}
