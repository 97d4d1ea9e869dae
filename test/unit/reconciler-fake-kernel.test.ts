// An orchestration scenario without root: the real Reconciler against the FakeKernel,
// wired as the daemon wires it (route events -> noteKernelRoute). Drift repair: a route
// deleted under us by someone else comes back, and so does the placeholder neighbour.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { configFromDocument } from '../../src/config/config.js';
import { FakeKernel } from '../../src/kernel/fake-kernel.js';
import type { KernelRoute } from '../../src/kernel/rtnetlink-codec.js';
import { parseIpv4Prefix } from '../../src/model/ipv4-prefix.js';
import type { LinkLocal } from '../../src/model/link-local.js';
import { macFromBytes } from '../../src/model/mac.js';
import { parseRtTables } from '../../src/model/route-table.js';
import { PeerTable } from '../../src/peers/peer-table.js';
import { Reconciler } from '../../src/reconcile/reconciler.js';
import { Rib } from '../../src/rib/rib.js';
import { until } from '../helpers/kernel-contract.js';

const PROTOCOL = 200;
const TABLE = 5549;
const H0 = 2;
const PEER_LL = 'fe80::ff:fe00:101' as LinkLocal; // EUI-64 of 02:00:00:00:01:01

async function ourRoutes(k: FakeKernel): Promise<KernelRoute[]> {
  const out: KernelRoute[] = [];
  await k.dumpRoutes(PROTOCOL, { begin: () => (out.length = 0), route: (_r, decode) => out.push(decode()) });
  return out;
}

function setUp() {
  const config = configFromDocument({ kernel: { protocol: PROTOCOL, table: TABLE } }, parseRtTables(''));
  const kernel = new FakeKernel([{ ifindex: H0, name: 'h0', mac: Buffer.from('020000000201', 'hex') }]);
  const rib = new Rib();
  const reconciler = new Reconciler(kernel, rib, new PeerTable(), config, pino({ level: 'silent' }), () => true);
  rib.changes.add((slot) => reconciler.markDesiredChanged(slot));
  kernel.subscribe({
    link: () => reconciler.requestResync(),
    neighbour: (_c, n) => reconciler.markNeighbourDrift(n.ifindex),
    route: (c, r) => reconciler.noteKernelRoute(c, r),
    nexthop: (c, nh) => reconciler.noteKernelNexthop(c, nh),
    rule: (c, r) => reconciler.noteKernelRule(c, r),
    overrun: () => reconciler.requestResync(),
    error: (err) => {
      throw err;
    },
  });
  return { config, kernel, rib, reconciler };
}

async function installOne(s: ReturnType<typeof setUp>): Promise<void> {
  s.reconciler.requestResync();
  await s.reconciler.idle();
  s.reconciler.allowSweep();
  const prefix = parseIpv4Prefix('10.99.2.0/24');
  if (!prefix.ok) throw new Error(prefix.error);
  s.rib.add('test', { table: TABLE, prefix: prefix.value, nexthops: [{ interface: 'h0', linkLocal: PEER_LL }] });
  await until('the route installed', async () => (await ourRoutes(s.kernel)).length === 1);
}

describe('the Reconciler on the FakeKernel', () => {
  it('installs a route, then repairs it after someone deletes it', async () => {
    const s = setUp();
    const { kernel, reconciler } = s;
    try {
      await installOne(s);
      const [installed] = await ourRoutes(kernel);
      expect(installed).toMatchObject({ table: TABLE, dst: 0x0a630200, dstLen: 24, protocol: PROTOCOL, legs: [{ ifindex: H0, gateway: 0xa9fe0001 }] });
      const neighbours = await kernel.dumpNeighbours();
      expect(neighbours.map((n) => [n.ifindex, n.dst.readUInt32BE(0), macFromBytes(n.lladdr!)])).toEqual([[H0, 0xa9fe0001, '02:00:00:00:01:01']]);
      expect((await kernel.dumpRules()).some((r) => r.table === TABLE && r.protocol === PROTOCOL)).toBe(true);

      const repairsBefore = reconciler.repairs;
      expect(kernel.foreignRoute('delete', installed!)).toEqual({ ok: true });
      expect(await ourRoutes(kernel)).toEqual([]);
      await until('the route repaired', async () => (await ourRoutes(kernel)).length === 1);
      expect(await ourRoutes(kernel)).toEqual([installed]);
      expect(reconciler.repairs).toBe(repairsBefore + 1);
    } finally {
      reconciler.stop();
      await kernel.close();
    }
  });

  it('link flap: admin down flushes route and neighbour silently; admin up brings both back', async () => {
    const s = setUp();
    const { kernel, reconciler } = s;
    try {
      await installOne(s);
      const [installed] = await ourRoutes(kernel);
      kernel.setAdmin(H0, false);
      expect(await ourRoutes(kernel)).toEqual([]);
      expect(await kernel.dumpNeighbours()).toEqual([]);
      await new Promise((r) => setImmediate(r));
      await reconciler.idle();
      expect(await ourRoutes(kernel)).toEqual([]); // nothing to write to while h0 is down
      kernel.setAdmin(H0, true);
      await until('the route back after admin up', async () => (await ourRoutes(kernel)).length === 1);
      expect(await ourRoutes(kernel)).toEqual([installed]);
      await until('the neighbour back', async () => (await kernel.dumpNeighbours()).length === 1);
    } finally {
      reconciler.stop();
      await kernel.close();
    }
  });
});
