// Measures, in a throwaway namespace, the longest multipath route that still shows in kernel
// dumps, per kernel mode (docs/configuration.md, "How long a route may be"). Root only; run
// after `npm run build`: node scripts/max-legs.mjs [neighbor|via|nhobj|nhobj6 ...]
// Routes are written with rfc5549d's own encoder: iproute2 refuses requests over 4 KB.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const [role, ...args] = process.argv.slice(2);
const DIST = new URL('../dist/src/kernel/', import.meta.url).pathname;
const NDEV = 8;
const COUNTS = [2, 64, 100, 112, 116, 117, 128, 200, 228, 232, 233, 240, 256, 400, 465, 466, 1000];

async function inside(action, mode, n) {
  const { NetlinkKernel } = await import(`${DIST}kernel.js`);
  const { writeNewRoute, writeNexthop, RTN_UNICAST, RTNH_F_ONLINK } = await import(`${DIST}rtnetlink-codec.js`);
  const k = new NetlinkKernel(2000, 1 << 20, false);
  if (action === 'dump') {
    const out = { routeLegs: null, groupMembers: null };
    await k.dumpRoutes(200, { begin() { out.routeLegs = null; }, route(_r, d) { out.routeLegs = d().legs.length; } });
    for (const nh of await k.dumpNexthops()) if (nh.id === 100000) out.groupMembers = nh.group?.length ?? 0;
    return out;
  }
  const ifx = Array.from({ length: NDEV }, (_, j) => Number(readFileSync(`/sys/class/net/h${j}/ifindex`, 'utf8')));
  const v6 = mode === 'via' || mode === 'nhobj6';
  const legs = Array.from({ length: n }, (_, i) => {
    const ifindex = ifx[i % NDEV];
    if (!v6) return { ifindex, gateway: (0xa9fe0000 + (Math.floor(i / NDEV) % 254) + 1) >>> 0, flags: RTNH_F_ONLINK };
    const via6 = Buffer.alloc(16);
    via6.writeUInt16BE(0xfe80, 0);
    via6.writeUInt32BE(i + 1, 12);
    return { ifindex, via6, flags: 0 };
  });
  const route = { table: 100, dst: 0x0ac80000, dstLen: 24, protocol: 200, metric: 20, type: RTN_UNICAST, legs: [] };
  let fails;
  if (mode.startsWith('nhobj')) {
    fails = await k.applyEncoded(n, (w, seq, i, ack) => writeNexthop(w, seq, { id: i + 1, protocol: 200, leg: legs[i] }, 'replace', ack));
    if (fails.size === 0) fails = await k.applyEncoded(1, (w, seq, _i, ack) => writeNexthop(w, seq, { id: 100000, protocol: 200, group: legs.map((_, i) => i + 1) }, 'replace', ack));
    if (fails.size === 0) fails = await k.applyEncoded(1, (w, seq, _i, ack) => writeNewRoute(w, seq, { ...route, nhId: 100000 }, 'replace', ack));
  } else {
    fails = await k.applyEncoded(1, (w, seq, _i, ack) => writeNewRoute(w, seq, { ...route, legs }, 'replace', ack));
  }
  return { written: fails.size === 0 };
}

if (role === '--inside') {
  console.log(JSON.stringify(await inside(args[0], args[1], Number(args[2]))));
  process.exit(0);
}

const ns = `max-legs-${process.pid}`;
const ip = (...a) => execFileSync('ip', ['-n', ns, ...a], { encoding: 'utf8' });
const nsNode = (...a) => JSON.parse(spawnSync('ip', ['netns', 'exec', ns, process.execPath, new URL(import.meta.url).pathname, '--inside', ...a], { encoding: 'utf8' }).stdout.trim().split('\n').pop());
execFileSync('ip', ['netns', 'add', ns]);
try {
  ip('link', 'set', 'lo', 'up'); // without a local table every onlink gateway is "invalid"
  for (let j = 0; j < NDEV; j++) {
    ip('link', 'add', `h${j}`, 'type', 'veth', 'peer', 'name', `p${j}`);
    ip('link', 'set', `h${j}`, 'up');
    ip('link', 'set', `p${j}`, 'up');
  }
  console.log(`kernel ${execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim()}; mode legs: written, ip route show, ip -j route, our dump (legs), our nexthop dump (group members)`);
  const modes = process.argv.slice(2);
  for (const mode of modes.length ? modes : ['neighbor', 'via', 'nhobj', 'nhobj6']) {
    for (const n of COUNTS) {
      spawnSync('ip', ['-n', ns, 'route', 'flush', 'table', '100']);
      spawnSync('ip', ['-n', ns, 'nexthop', 'flush']);
      const w = nsNode('write', mode, String(n));
      const shown = ip('route', 'show', 'table', '100').includes('10.200.0.0/24');
      const json = (JSON.parse(ip('-j', 'route', 'show', 'table', '100') || '[]')).some((r) => r.dst === '10.200.0.0/24');
      const ours = nsNode('dump', mode, String(n));
      console.log(`${mode} ${n}: ${w.written ? 'written' : 'REFUSED'}, ${shown ? 'shown' : 'NOT shown'}, ${json ? 'in -j' : 'NOT in -j'}, ours ${ours.routeLegs ?? 'NOT dumped'}${mode.startsWith('nhobj') ? `, group ${ours.groupMembers ?? 'NOT dumped'}` : ''}`);
    }
  }
} finally {
  execFileSync('ip', ['netns', 'del', ns]);
}
