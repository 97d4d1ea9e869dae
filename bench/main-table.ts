// What longest match across tables costs when main is big: next to zebra, main holds zebra's
// copy of every route we hold. Fills main of a throwaway namespace with ROUTES (1M) /32s of
// protocol bgp via ip -batch, then, inside the namespace, times the extra dump the daemon
// makes on every resync (main, all protocols, kernel-filtered by table) and the throw plan
// against as many exact prefixes of ours (zebra's copies: no throws). Run (as root):
//   npm run build && node dist/bench/main-table.js
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetlinkKernel } from '../src/kernel/kernel.js';
import { MainTable, planThrowsIn, prefixKey, shadows } from '../src/reconcile/longest-match.js';
import { kernelTestsBlocked, Topology } from '../test/helpers/netns.js';

const N = Number(process.env.ROUTES ?? 1_000_000);
const dst = (i: number): number => (0x0a000000 + i) >>> 0;
const text = (a: number): string => `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;

async function inner(): Promise<void> {
  const kernel = new NetlinkKernel(2000);
  const main = new MainTable();
  try {
    for (let round = 0; round < 3; round++) {
      const tk = performance.now();
      let n = 0;
      await kernel.dumpTablePrefixes(254, { begin: () => (n = 0), route: () => n++ });
      const bareMs = performance.now() - tk;
      const t0 = performance.now();
      await kernel.dumpTablePrefixes(254, {
        begin: () => main.clear(),
        route: (r) => main.put(r.dst, r.dstLen, r.metric, shadows(r.type, r.tos)),
      });
      const dumpMs = performance.now() - t0;
      const ours = new Set<number>();
      for (let i = 0; i < N; i++) ours.add(prefixKey(dst(i), 32));
      const t1 = performance.now();
      const throws = planThrowsIn({ has: (a, l) => ours.has(prefixKey(a, l)), lengths: 2 ** 24 }, main);
      const planMs = performance.now() - t1;
      console.log(`round ${round + 1}: dump of main (${main.size.toLocaleString('en-US')} prefixes) ${Math.round(dumpMs)} ms (${Math.round(bareMs)} ms reading ${n.toLocaleString('en-US')} routes and nothing else), whole throw plan ${Math.round(planMs)} ms, ${throws.size} throws`);
    }
  } finally {
    await kernel.close();
  }
}

function outer(): void {
  const blocked = kernelTestsBlocked();
  if (blocked) throw new Error(`main-table bench needs root and ip netns: ${blocked}`);
  const topo = Topology.create();
  const file = join(tmpdir(), `rfc5549d-main-${process.pid}.batch`);
  try {
    let batch = '';
    for (let i = 0; i < N; i++) batch += `route add ${text(dst(i))}/32 via 169.254.0.1 dev h0 onlink proto bgp metric 20\n`;
    writeFileSync(file, batch);
    batch = '';
    const t0 = performance.now();
    const r = spawnSync('ip', ['-n', topo.host.name, '-batch', file], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ip -batch: ${r.stderr.slice(0, 300)}`);
    console.log(`main filled with ${N.toLocaleString('en-US')} /32s (proto bgp) in ${Math.round(performance.now() - t0)} ms; ours: the same prefixes (lengths /24 and /32 present)`);
    const child = spawnSync('ip', ['netns', 'exec', topo.host.name, process.execPath, process.argv[1]!, '--inner'], { stdio: 'inherit', env: { ...process.env, ROUTES: String(N) } });
    if (child.status !== 0) throw new Error(`inner run exited ${child.status}`);
  } finally {
    rmSync(file, { force: true });
    topo.destroy();
  }
}

if (process.argv.includes('--inner')) await inner();
else outer();
