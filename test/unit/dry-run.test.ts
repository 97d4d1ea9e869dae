// A dry run without root: the real Daemon on a DryRun whose "real kernel" is a FakeKernel
// with leftovers in it. The daemon plans and writes as usual, into the dry run's fake; the
// real one is read only (not one write), and plan tells the difference with reasons.
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { configFromDocument } from '../../src/config/config.js';
import { Daemon } from '../../src/daemon.js';
import { DryRun, type PlanAnswer } from '../../src/dry-run/dry-run.js';
import { formatPlanItem } from '../../src/dry-run/plan-diff.js';
import { FakeKernel } from '../../src/kernel/fake-kernel.js';
import { RTN_UNICAST, RTNH_F_ONLINK, type KernelRoute } from '../../src/kernel/rtnetlink-codec.js';
import { ipv4ToNumber } from '../../src/model/ipv4-prefix.js';
import type { LinkLocal } from '../../src/model/link-local.js';
import { parseRtTables } from '../../src/model/route-table.js';
import { until } from '../helpers/kernel-contract.js';

const H0 = 2;
const PEER_LL = 'fe80::ff:fe00:101' as LinkLocal; // EUI-64 of 02:00:00:00:01:01
const GHOST = 'fe80::1234:5678:9abc:def0' as LinkLocal; // not EUI-64, never answers
const ip = (s: string): number => ipv4ToNumber(s)!;
const ours = (dst: string, len: number, gw: string): KernelRoute =>
  ({ table: 5549, dst: ip(dst), dstLen: len, protocol: 200, metric: 20, type: RTN_UNICAST, legs: [{ ifindex: H0, gateway: ip(gw), flags: RTNH_F_ONLINK }] });

async function everything(k: FakeKernel): Promise<unknown> {
  const routes: KernelRoute[] = [];
  for (const t of [254, 5549]) await k.dumpTable(t, { begin: () => {}, route: (_r, decode) => void routes.push(decode()) });
  return { links: await k.dumpLinks(), neighbours: await k.dumpNeighbours(), rules: await k.dumpRules(), nexthops: await k.dumpNexthops(), routes };
}

describe('a dry run on a fake "real" kernel', () => {
  let dir: string | undefined;
  let daemon: Daemon | undefined;
  let feed: Socket | undefined;
  afterEach(async () => {
    feed?.destroy();
    await daemon?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('writes nothing to the real kernel, runs the daemon on its copy, and plan lists install, change and remove with reasons', async () => {
    dir = mkdtempSync(join(tmpdir(), 'rfc5549d-dry-'));
    const real = new FakeKernel([{ ifindex: H0, name: 'h0', mac: Buffer.from('020000000201', 'hex') }]);
    real.foreignRoute('replace', ours('10.99.8.0', 24, '169.254.0.1')); // a leftover of ours
    real.foreignRoute('replace', ours('10.99.1.1', 32, '169.254.0.9')); // ours, with a wrong next hop
    real.foreignRoute('replace', { table: 254, dst: ip('10.99.2.128'), dstLen: 25, protocol: 4, metric: 0, type: RTN_UNICAST, legs: [{ ifindex: H0, flags: 0 }] });
    const before = await everything(real);
    const config = configFromDocument({
      kernel: { protocol: 200, table: 5549, 'rule-priority': 5549, metric: 20 },
      sources: { jsonl: { enabled: true, socket: join(dir, 'routes.sock') }, fpm: { enabled: false } },
      ra: { enabled: false },
      control: { socket: join(dir, 'control.sock') },
    }, parseRtTables(''));
    const log = pino({ level: 'silent' });
    const dry = await DryRun.start(config, log, real);
    daemon = new Daemon({ config, log, tables: parseRtTables(''), kernel: dry.kernel, dryRun: dry });
    await daemon.start();
    const d = daemon;
    feed = connect(join(dir, 'routes.sock'));
    await new Promise<void>((resolve, reject) => feed!.once('connect', () => resolve()).once('error', reject));
    feed.write(`${JSON.stringify({ op: 'sync-begin' })}\n`);
    for (const [prefix, ll] of [['10.99.1.1/32', PEER_LL], ['10.99.2.0/24', PEER_LL], ['10.99.7.0/24', GHOST]] as const) {
      feed.write(`${JSON.stringify({ op: 'add', table: 5549, prefix, nexthops: [{ via: ll, dev: 'h0' }] })}\n`);
    }
    feed.write(`${JSON.stringify({ op: 'sync-end' })}\n`);
    const planNow = async (): Promise<PlanAnswer> => (await d.plan()) as PlanAnswer;
    let plan: PlanAnswer | undefined;
    await until('the plan settled', async () => (plan = await planNow()).items.length === 6).catch((err: unknown) => {
      throw new Error(`${String(err)}: ${JSON.stringify(plan, null, 1)}`);
    });
    if (!plan) throw new Error('no plan');
    expect(plan.items.map(formatPlanItem)).toEqual([
      'install rule pref 5549 lookup 5549  (puts table 5549 ahead of main (kernel.rule-priority))',
      'install neighbour 169.254.0.1 dev h0 lladdr 02:00:00:00:01:01 permanent  (placeholder for fe80::ff:fe00:101%h0, MAC from eui64)',
      'change route 10.99.1.1/32 table 5549 metric 20  (kernel has via 169.254.0.9 dev h0 onlink; want via 169.254.0.1 dev h0 onlink; desired by jsonl#1)',
      'install route 10.99.2.0/24 table 5549 metric 20 via 169.254.0.1 dev h0 onlink  (desired by jsonl#1)',
      'remove route 10.99.8.0/24 table 5549 metric 20 via 169.254.0.1 dev h0 onlink  (ours by protocol 200, no source wants it)',
      'install throw throw 10.99.2.128/25 table 5549 metric 20  (main holds a more specific route inside one of ours: the throw keeps longest match across the two tables)',
    ]);
    expect(plan).toMatchObject({ dryRun: true, sweepAllowed: true, counts: { install: 4, change: 1, remove: 1, pending: 1 }, unlisted: { items: 0, pending: 0 } });
    expect(plan.pending).toEqual([expect.objectContaining({ prefix: '10.99.7.0/24', source: 'jsonl#1', reason: expect.stringContaining('not EUI-64') })]);
    expect(real.writes).toBe(0);
    expect(await everything(real)).toEqual(before);

    // the real kernel's link going down reaches the daemon through the copy, which flushes as the kernel does
    real.setAdmin(H0, false);
    await until('the copy follows the link down', async () => (await planNow()).counts.pending === 3);
    expect(real.writes).toBe(0);
  });
});
