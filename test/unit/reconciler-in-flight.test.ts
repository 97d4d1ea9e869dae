// A route changed while the pass that writes it is in flight. The FakeKernel here holds the
// answer to a route batch back (the writes are done, as after sendmsg; the ACK is not yet
// read), so a scenario can change the RIB while a batch is in flight.
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

describe('a route changed while its write is in flight', () => {
  it('is planned again after the record, from what was written: the withdrawal is not lost, nothing written twice', async () => {
    const kernel = new HoldingKernel();
    const r = await rig(kernel);
    rigs.push(r);
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
    r.rib.withdraw(5549, prefix('10.1.0.1/32'));
    await r.advance();
    expect(kernel.batches).toHaveLength(1);
    expect(idle).toBe(false);
    kernel.hold = false;
    kernel.release();
    await r.advance();
    await r.reconciler.idle();
    expect(idle).toBe(true);
    expect(kernel.batches.slice(1)).toEqual([['10.1.0.1/32 delete']]);
    expect(r.reconciler.failedWrites).toBe(0);
    expect(await kernel.ourRoutes()).toEqual([ourRoute('10.1.0.2/32'), ourRoute('10.1.0.9/32')]);
  });

  it('a failed batch: its routes are planned again after the resync', async () => {
    const kernel = new HoldingKernel();
    const r = await rig(kernel);
    rigs.push(r);
    let fail = true;
    const apply = kernel.applyRoutes.bind(kernel);
    kernel.applyRoutes = (...args) => (fail ? ((fail = false), Promise.reject(new Error('scenario: request thread died'))) : apply(...args));
    r.add('10.3.0.1/32');
    await r.advance();
    expect(r.events('reconcileFailed')).toHaveLength(1);
    r.add('10.3.0.2/32');
    await r.advance(1500);
    await r.reconciler.idle();
    expect(await kernel.ourRoutes()).toEqual([ourRoute('10.3.0.1/32'), ourRoute('10.3.0.2/32')]);
  });
});
