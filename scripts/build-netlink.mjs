// Builds the netlink package's native binding from its (patched) source.
// Why: netlink@0.3.0's prebuilt binding aborts the process on a receive-buffer
// overrun (ENOBUFS) and cannot set SO_RCVBUFFORCE / NETLINK_* options; our patch
// (patches/netlink+0.3.0.patch, applied by patch-package) fixes both, and
// node-gyp-build loads build/Release before the package's prebuilds.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const pkgDir = join(process.cwd(), 'node_modules', 'netlink');
const candidates = [
  process.env.npm_config_node_gyp,
  join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
];
try {
  const req = createRequire(import.meta.url);
  candidates.push(req.resolve('node-gyp/bin/node-gyp.js'));
} catch { /* not a direct dependency */ }
const gyp = candidates.find((p) => p && existsSync(p));
if (!gyp) {
  console.error('build-netlink: node-gyp not found (looked in npm_config_node_gyp and npm\'s bundled copy)');
  process.exit(1);
}
const args = [gyp, 'rebuild'];
if (process.env.npm_config_nodedir) args.push(`--nodedir=${process.env.npm_config_nodedir}`);
else if (existsSync('/usr/include/node/node.h')) args.push('--nodedir=/usr');
const r = spawnSync(process.execPath, args, { cwd: pkgDir, stdio: 'inherit' });
if (r.status !== 0) {
  console.error(`build-netlink: node-gyp rebuild failed with status ${r.status}`);
  process.exit(1);
}
