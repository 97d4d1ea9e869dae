// Route writes of consecutive passes overlap: a pass that only writes queued routes leaves
// them in flight and the next pass plans meanwhile. The FakeKernel here holds the answer to
// a route batch back (the writes are done, as after sendmsg; the ACK is not yet read), so a
// scenario can look at what is planned while a batch is in flight.
import { afterEach, describe, expect, it } from 'vitest';
import { ROUTE_CREATE, ROUTE_DELETE, ROUTE_REPLACE, type RouteKeys, type RouteWrites } from '../../src/kernel/kernel-ops.js';
import type { ForwardingTable } from '../../src/kernel/kernel.js';
import type { OpFailure } from '../../src/kernel/kernel.js';
import { numberToIpv4, parseIpv4Prefix, type Ipv4Prefix } from '../../src/model/ipv4-prefix.js';
import { ourRoute, rig, ScenarioKernel, type Rig } from '../helpers/reconciler-rig.js';

const OP_NAMES: Record<number, string> = { [ROUTE_CREATE]: 'create', [ROUTE_REPLACE]: 'replace', [ROUTE_DELETE]: 'delete' };

/** one applyRoutes call: `prefix op` per write, in order */
type Batch = string[];

class HoldingKernel extends ScenarioKernel {
  readonly batches: Batch[] = [];
  /** answers of route batches held back, in order */
  private readonly held: Array<() => void> = [];
  hold = false;

  override async applyRoutes(writes: RouteWrites, keys: RouteKeys, forwardings: ForwardingTable, protocol: number, metric: number): Promise<Map<number, OpFailure>> {
    const batch: Batch = [];
    for (let i = 0; i < writes.length; i++) {
      const s = writes.slot[i]!;
      batch.push(`${numberToIpv4(keys.addr[s]!)}/${keys.len[s]!} ${OP_NAMES[writes.kind[i]!] ?? writes.kind[i]!}`);
    }
    this.batches.push(batch);
    const answer = super.applyRoutes(writes, keys, forwardings, protocol, metric);
    if (!this.hold) return answer;
    await new Promise<void>((resolve) => this.held.push(resolve));
    return answer;
  }

  get heldCount(): number {
    return this.held.length;
  }

  /** the oldest held answer goes out */
  release(): void {
    this.held.shift()?.();
  }
}

function prefix(text: string): Ipv4Prefix {
  const p = parseIpv4Prefix(text);
  if (!p.ok) throw new Error(p.error);
  return p.value;
}

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) {
    r.reconciler.stop();
    await r.kernel.close();
  }
});

describe('overlapping route writes', () => {
  it('a second pass plans while the first is in flight; a slot in flight is planned again only after its record, in order', async () => {
    const kernel = new HoldingKernel();
    const r = await rig(kernel);
    rigs.push(r);
    // the placeholder first: a pass that writes neighbours drains before it writes
    r.add('10.1.0.9/32');
    await r.advance();
    kernel.batches.length = 0;
    kernel.hold = true;
    r.add('10.1.0.1/32');
    r.add('10.1.0.2/32');
    await r.advance();
    expect(kernel.batches).toEqual([['10.1.0.1/32 create', '10.1.0.2/32 create']]);
    let idle = false;
    void r.reconciler.idle().then(() => (idle = true));

    // while the first batch is in flight: a new route, and a change to one being written
    r.add('10.1.0.3/32');
    r.rib.withdraw(5549, prefix('10.1.0.1/32'));
    await r.advance();
    // the second pass planned and wrote the new route only; 10.1.0.1 waits for its record
    expect(kernel.batches).toEqual([['10.1.0.1/32 create', '10.1.0.2/32 create'], ['10.1.0.3/32 create']]);
    expect(kernel.heldCount).toBe(2);
    expect(idle).toBe(false);

    kernel.release();
    await r.advance();
    kernel.release();
    await r.advance();
    // after the first batch's record, 10.1.0.1 is planned from what was written: a delete, not a second create
    expect(kernel.batches.slice(2)).toEqual([['10.1.0.1/32 delete']]);
    kernel.hold = false;
    kernel.release();
    await r.advance();
    await r.reconciler.idle();
    expect(idle).toBe(true);
    expect(r.reconciler.failedWrites).toBe(0);
    expect(await kernel.ourRoutes()).toEqual([ourRoute('10.1.0.2/32'), ourRoute('10.1.0.3/32'), ourRoute('10.1.0.9/32')]);
    // every slot's writes in plan order: never created twice
    const writesOf = (p: string): string[] => kernel.batches.flat().filter((w) => w.startsWith(`${p} `));
    expect(writesOf('10.1.0.1/32')).toEqual(['10.1.0.1/32 create', '10.1.0.1/32 delete']);
    expect(writesOf('10.1.0.2/32')).toEqual(['10.1.0.2/32 create']);
  });

  it('a pass that dumps waits for the writes in flight before it dumps', async () => {
    const kernel = new HoldingKernel();
    const r = await rig(kernel);
    rigs.push(r);
    kernel.hold = true;
    r.add('10.2.0.1/32');
    await r.advance();
    r.add('10.2.0.2/32');
    await r.advance();
    const dumps = kernel.routeDumps;
    r.reconciler.requestResync();
    await r.advance(50);
    expect(kernel.routeDumps).toBe(dumps);
    kernel.hold = false;
    kernel.release();
    await r.advance(50);
    await r.reconciler.idle();
    expect(kernel.routeDumps).toBe(dumps + 1);
    expect(await kernel.ourRoutes()).toEqual([ourRoute('10.2.0.1/32'), ourRoute('10.2.0.2/32')]);
    expect(kernel.batches.flat()).toEqual(['10.2.0.1/32 create', '10.2.0.2/32 create']);
  });

  it('a failed batch in flight: the pass fails, its slots are planned again after the resync', async () => {
    const kernel = new HoldingKernel();
    const r = await rig(kernel);
    rigs.push(r);
    let fail = true;
    const apply = kernel.applyRoutes.bind(kernel);
    kernel.applyRoutes = (...args) => (fail ? ((fail = false), Promise.reject(new Error('scenario: request thread died'))) : apply(...args));
    r.add('10.3.0.1/32');
    await r.advance();
    expect(r.events('reconcileFailed')).toHaveLength(1);
    await r.advance(1500);
    await r.reconciler.idle();
    expect(await kernel.ourRoutes()).toEqual([ourRoute('10.3.0.1/32')]);
  });
});
