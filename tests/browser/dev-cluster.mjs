// For working on the dashboard by hand: a pool as the test starts it, kept until Ctrl-C.
//   node tests/browser/dev-cluster.mjs BUILD_DIR   (prints the URL and the tokens)
import path from 'node:path';
import { Cluster } from './cluster.mjs';

const build = path.resolve(process.argv[2] || 'build');
const c = new Cluster({
  scheduler: `${build}/scheduler/shoal-scheduler`, worker: `${build}/worker/shoal-worker`,
  trainer: `${build}/worker/shoal-train`, uiDir: `${build}/scheduler/ui`,
});
const bye = async () => { await c.stop(); c.remove(); process.exit(0); };
process.on('SIGINT', bye);
process.on('SIGTERM', bye);
try {
  await c.start();
} catch (e) {
  console.error(e, c.logs());
  await bye();
}
console.log(JSON.stringify({ url: c.url, admin: c.adminToken, user: c.userToken, other: c.otherToken, dir: c.dir }));
setInterval(() => {}, 1 << 30);
