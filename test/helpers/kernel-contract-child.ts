// Runs one kernel-contract case against the real NetlinkKernel, inside the host namespace
// of a throwaway Topology (test/netns/kernel-contract.test.ts starts it with `ip netns exec`,
// from dist/). Prints one JSON line: { ok } or { ok: false, error }.
// Usage: node kernel-contract-child.js <case name> <peer namespace>
import { spawnSync } from 'node:child_process';
import { NetlinkKernel } from '../../src/kernel/kernel.js';
import { RTN_BLACKHOLE, type KernelRoute } from '../../src/kernel/rtnetlink-codec.js';
import { numberToIpv4 } from '../../src/model/ipv4-prefix.js';
import { KERNEL_CONTRACT, recordEvents, type ContractWorld } from './kernel-contract.js';

function ip(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

/** `ip route replace|del` for a route of the contract's shapes (onlink unicast or blackhole) */
function ipRouteArgs(change: 'replace' | 'delete', r: KernelRoute): string[] {
  const args = ['route', change === 'replace' ? 'replace' : 'del'];
  if (r.type === RTN_BLACKHOLE) args.push('blackhole');
  args.push(`${numberToIpv4(r.dst)}/${r.dstLen}`, 'table', String(r.table), 'proto', String(r.protocol), 'metric', String(r.metric));
  const leg = r.legs[0];
  if (r.type !== RTN_BLACKHOLE && leg) args.push('via', numberToIpv4(leg.gateway!), 'dev', 'h0', 'onlink');
  return args;
}

async function main(): Promise<void> {
  const [name, peerNs] = process.argv.slice(2);
  const c = KERNEL_CONTRACT.find((x) => x.name === name);
  if (!c || !peerNs) throw new Error(`usage: kernel-contract-child <case name> <peer netns>; no case ${JSON.stringify(name)}`);
  const port = new NetlinkKernel(64);
  try {
    const h0 = (await port.dumpLinks()).find((l) => l.name === 'h0');
    if (!h0) throw new Error('no h0 in this namespace');
    // the world's steps are async by contract; here each is one synchronous `ip`
    /* eslint-disable @typescript-eslint/require-await */
    const w: ContractWorld = {
      port,
      ifindex: h0.ifindex,
      events: recordEvents(port),
      adminUp: async (up) => ip(['link', 'set', 'h0', up ? 'up' : 'down']),
      carrier: async (on) => ip(['-n', peerNs, 'link', 'set', 'p0', on ? 'up' : 'down']),
      setLinkMac: async (mac) => ip(['link', 'set', 'h0', 'address', mac]),
      foreignRoute: async (change, r) => ip(ipRouteArgs(change, r)),
    };
    /* eslint-enable @typescript-eslint/require-await */
    await c.run(w);
    console.log(JSON.stringify({ ok: true }));
  } finally {
    await port.close();
  }
}

main().catch((err: unknown) => {
  console.log(JSON.stringify({ ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) }));
  process.exitCode = 1;
});
