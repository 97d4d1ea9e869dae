// Builds the native code the daemon needs, from source, with node-gyp:
// - the netlink package's binding, patched (patches/netlink+0.3.0.patch, applied by
//   patch-package): the prebuilt one aborts the process on a receive-buffer overrun
//   (ENOBUFS) and cannot set SO_RCVBUFFORCE / NETLINK_* options; node-gyp-build loads
//   build/Release before the package's prebuilds;
// - native/icmp6, our raw ICMPv6 socket for router advertisements (src/ra/) and sd_notify
//   (src/systemd/).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const root = process.cwd();
const candidates = [
  process.env.npm_config_node_gyp,
  join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
];
try {
  candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
} catch { /* not a direct dependency */ }
const gyp = candidates.find((p) => p && existsSync(p));
if (!gyp) {
  console.error("build-native: node-gyp not found (looked in npm_config_node_gyp and npm's bundled copy)");
  process.exit(1);
}
const nodedir = process.env.npm_config_nodedir ?? (existsSync('/usr/include/node/node.h') ? '/usr' : undefined);

for (const dir of [join(root, 'node_modules', 'netlink'), join(root, 'native', 'icmp6')]) {
  const args = [gyp, 'rebuild', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
  const r = spawnSync(process.execPath, args, {
    cwd: dir,
    stdio: 'inherit',
    // node-addon-api is found from the project root for native/icmp6
    env: { ...process.env, NODE_PATH: join(root, 'node_modules') },
  });
  if (r.status !== 0) {
    console.error(`build-native: node-gyp rebuild failed in ${dir} (status ${r.status})`);
    process.exit(1);
  }
}
