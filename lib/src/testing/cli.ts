// `make cluster-up` / `make cluster-down` / `make cluster-status`: a local control plane that outlives the command,
// for demos and for running tests against (TAPR_CLUSTER_DIR). State lives in .tapr/cluster by default.
import path from 'node:path';
import { startLocalCluster, stopLocalCluster, readClusterInfo } from './localCluster.js';
import { installCrds } from './crds.js';

const [command = 'status', dirArg] = process.argv.slice(2);
const dir = path.resolve(dirArg ?? process.env['TAPR_CLUSTER_DIR'] ?? '.tapr/cluster');

async function main(): Promise<number> {
  const running = readClusterInfo(dir);
  switch (command) {
    case 'up': {
      if (running) {
        console.log(`already running: ${running.server}\nexport KUBECONFIG=${running.kubeconfig}`);
        return 0;
      }
      const started = Date.now();
      // TAPR_NODE=1 (make cluster-up NODE=1) adds a real node (docs/real-node.md).
      const info = await startLocalCluster({ dir, removeDirOnExit: false, node: process.env['TAPR_NODE'] === '1' });
      const crds = installCrds(info.kubeconfig);
      console.log(`local control plane up in ${Date.now() - started} ms at ${info.server} (${crds.length} CRD files installed)`);
      console.log(`logs: ${path.join(dir, 'logs')}\nexport KUBECONFIG=${info.kubeconfig}`);
      return 0;
    }
    case 'down':
      if (!running) {
        console.log(`no local control plane running from ${dir}`);
        return 0;
      }
      await stopLocalCluster(running);
      console.log('local control plane stopped');
      return 0;
    case 'status':
      console.log(running ? `running: ${running.server} (kubeconfig ${running.kubeconfig})` : `not running (${dir})`);
      return running ? 0 : 1;
    default:
      console.error(`usage: cli.js up|down|status [dir]`);
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(error.message);
    process.exit(1);
  },
);
