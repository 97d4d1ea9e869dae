import { describe, expect, it } from 'vitest';
import { FR_ACT_TO_TBL, RTN_BLACKHOLE, RTN_LOCAL, RTN_THROW, RTN_UNICAST, type KernelRule } from '../../src/kernel/rtnetlink-codec.js';
import { parseIpv4Prefix } from '../../src/model/ipv4-prefix.js';
import type { KernelOp } from '../../src/kernel/kernel-ops.js';
import { keyAddr, keyLen, MainTable, planThrows, planThrowsIn, prefixKey, shadows, type OurPrefixes } from '../../src/reconcile/longest-match.js';
import { OwnTable } from '../../src/reconcile/own-table.js';

const pfx = (text: string) => {
  const p = parseIpv4Prefix(text);
  if (!p.ok) throw new Error(text);
  return p.value;
};
const key = (text: string) => prefixKey(pfx(text).addr, pfx(text).len);
const text = (k: number) => `${[24, 16, 8, 0].map((s) => (keyAddr(k) >>> s) & 255).join('.')}/${keyLen(k)}`;

function ours(...prefixes: string[]): OurPrefixes & { has(a: number, l: number): boolean } {
  const set = new Set(prefixes.map(key));
  let lengths = 0;
  for (const p of prefixes) if (pfx(p).len < 32) lengths |= 2 ** pfx(p).len;
  return { has: (a, l) => set.has(prefixKey(a, l)), lengths };
}
const throws = (o: OurPrefixes, main: string[]) => [...planThrows(o, main.map(key))].map(text).sort();

describe('throw-route planning (longest match across our table and main)', () => {
  it.each([
    ['a connected /25 inside our /24', ['10.99.2.0/24'], ['10.99.2.128/25'], ['10.99.2.128/25']],
    ['the same prefix in main (zebra\'s copy): ours wins in our table as it would in one', ['10.99.2.0/24'], ['10.99.2.0/24'], []],
    ['a less specific route in main shadows nothing', ['10.99.2.0/24'], ['10.99.0.0/16', '0.0.0.0/0'], []],
    ['outside every prefix of ours', ['10.99.2.0/24'], ['10.98.0.0/25', '192.168.1.0/24'], []],
    ['we hold the exact more-specific too: no throw', ['10.0.0.0/8', '10.1.0.0/16'], ['10.1.0.0/16', '10.2.0.0/16'], ['10.2.0.0/16']],
    ['a /32 inside a /8, and inside a /16 of ours', ['10.0.0.0/8', '10.1.0.0/16'], ['10.1.2.3/32', '10.3.2.1/32'], ['10.1.2.3/32', '10.3.2.1/32']],
    ['inside our default route', ['0.0.0.0/0'], ['192.168.7.0/24'], ['192.168.7.0/24']],
    ['main\'s default route is never more specific', ['0.0.0.0/0'], ['0.0.0.0/0'], []],
    ['our /32s contain nothing', ['10.99.1.1/32', '10.99.1.2/32'], ['10.99.1.0/24', '10.99.1.1/32'], []],
  ])('%s', (_name, our, main, want) => {
    expect(throws(ours(...our), main)).toEqual(want);
  });

  it('a superset of lengths changes nothing but the look-ups', () => {
    const o = ours('10.99.2.0/24');
    expect(throws({ has: o.has, lengths: 0xffffffff }, ['10.99.2.128/25', '10.99.3.0/25'])).toEqual(['10.99.2.128/25']);
  });

  it('a route of main shadows where it forwards or terminates; a throw, or one for a single TOS, does not', () => {
    expect([RTN_UNICAST, RTN_LOCAL, RTN_BLACKHOLE].map((t) => shadows(t, 0))).toEqual([true, true, true]);
    expect(shadows(RTN_THROW, 0)).toBe(false);
    expect(shadows(RTN_UNICAST, 0x10)).toBe(false);
  });

  it('main keeps a prefix while any of its routes is there', () => {
    const m = new MainTable();
    const p = pfx('10.99.2.128/25');
    m.put(p.addr, p.len, 0, true);
    m.put(p.addr, p.len, 100, true);
    m.put(p.addr, p.len, 100, true);
    m.remove(p.addr, p.len, 0);
    expect([...m.prefixes()].map(text)).toEqual(['10.99.2.128/25']);
    const inside: string[] = [];
    m.forEachInside(pfx('10.99.2.0/24').addr, 24, (k) => inside.push(text(k)));
    m.forEachInside(pfx('10.99.3.0/24').addr, 24, (k) => inside.push(text(k)));
    expect(inside).toEqual(['10.99.2.128/25']);
    const v = m.version;
    m.put(p.addr, p.len, 100, false); // replaced by a throw: shadows nothing any more
    expect(m.size).toBe(0);
    expect(m.version).toBeGreaterThan(v);
  });

  it('a thousand /24s of main inside one /12 of ours, with ours at /32 and /12 only: each gets a throw', () => {
    const o = ours('172.16.0.0/12', '10.0.0.1/32');
    const main = Array.from({ length: 1000 }, (_, i) => prefixKey((0xac100000 + (i << 8)) >>> 0, 24));
    expect(planThrows(o, main).size).toBe(1000);
  });
});

describe('the throw set kept incrementally equals the whole-table plan', () => {
  it('over a random mix of main and our changes (both ways of finding main\'s prefixes inside one of ours)', () => {
    let seed = 5549;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    // a small space so that prefixes nest and collide: 10.0.x.y with lengths 16..32
    const randomPrefix = () => {
      const len = 16 + rand(17);
      const addr = (0x0a000000 + (rand(1 << 16) & ~(2 ** (32 - len) - 1))) >>> 0;
      return { addr: (addr & ~0) >>> 0, len };
    };
    const ourSet = new Set<number>();
    let lengths = 0;
    const has = (a: number, l: number) => ourSet.has(prefixKey(a, l));
    const t = new OwnTable({ table: 5549, protocol: 200, metric: 20, rulePriority: undefined });
    t.beginMainDump();
    const mainRoutes = new Set<number>();
    const wantOf = (plan: ReturnType<OwnTable['plan']>) => {
      for (const op of [...plan.beforeRoutes, ...plan.afterRoutes]) t.recorded(op, true);
    };
    wantOf(t.plan(has));
    for (let step = 0; step < 3000; step++) {
      const p = randomPrefix();
      const k = prefixKey(p.addr, p.len);
      if (rand(2) === 0) {
        if (mainRoutes.has(k)) { mainRoutes.delete(k); t.noteMainRoute('del', p.addr, p.len, 0, true); }
        else { mainRoutes.add(k); t.noteMainRoute('new', p.addr, p.len, 0, true); }
      } else {
        if (ourSet.has(k)) ourSet.delete(k);
        else { ourSet.add(k); if (p.len < 32) lengths |= 2 ** p.len; }
        t.noteOurs(p.addr, p.len);
      }
      if (rand(5) === 0) {
        wantOf(t.plan(has));
        const held = t.throwKeys().sort();
        const whole = [...planThrows({ has, lengths }, mainRoutes)].sort();
        expect(held).toEqual(whole);
        expect([...planThrowsIn({ has, lengths }, t.main)].sort()).toEqual(whole);
      }
    }
    expect(mainRoutes.size).toBeGreaterThan(100);
  });
});

describe('our table: the rule and the throws as writes', () => {
  const config = { table: 5549, protocol: 200, metric: 20, rulePriority: 5549 };
  const rule = (over: Partial<KernelRule> = {}): KernelRule => ({ family: 2, priority: 5549, table: 5549, action: FR_ACT_TO_TBL, protocol: 200, selective: false, ...over });
  const describeOps = (ops: KernelOp[]) => ops.map((op) => {
    if (op.kind.startsWith('rule.') && 'rule' in op) return `${op.kind} pref ${op.rule.priority} lookup ${op.rule.table} proto ${op.rule.protocol}`;
    if ('route' in op) return `${op.kind} ${text(prefixKey(op.route.dst, op.route.dstLen))} table ${op.route.table} metric ${op.route.metric}`;
    return op.kind;
  });
  const noOurs = () => false;

  it('creates the rule when it is missing; foreign rules are not ours to touch', () => {
    const t = new OwnTable(config);
    t.setRules([rule({ protocol: 2, priority: 32766, table: 254 }), rule({ protocol: 0, priority: 100, table: 1000 })]);
    const p = t.plan(noOurs);
    expect(describeOps(p.beforeRoutes)).toEqual(['rule.create pref 5549 lookup 5549 proto 200']);
    expect(p.afterRoutes).toEqual([]);
    t.recorded(p.beforeRoutes[0]!, true);
    expect(t.ruleInstalled).toBe(true);
    expect(describeOps(t.plan(noOurs).beforeRoutes)).toEqual([]);
  });

  it('re-creates the rule someone deleted; removes ours at another preference or a duplicate; releases it on withdraw', () => {
    const t = new OwnTable(config);
    t.setRules([rule(), rule(), rule({ priority: 100 })]);
    expect(describeOps(t.plan(noOurs).afterRoutes)).toEqual(['rule.delete pref 5549 lookup 5549 proto 200', 'rule.delete pref 100 lookup 5549 proto 200']);
    t.setRules([rule()]);
    t.noteRule('del', rule());
    expect(t.needsPlan).toBe(true);
    expect(describeOps(t.plan(noOurs).beforeRoutes)).toEqual(['rule.create pref 5549 lookup 5549 proto 200']);
    t.setRules([rule()]);
    t.releaseRule();
    expect(describeOps(t.plan(noOurs).afterRoutes)).toEqual(['rule.delete pref 5549 lookup 5549 proto 200']);
  });

  it('a rule of ours with a selector is not the one we keep', () => {
    const t = new OwnTable(config);
    t.setRules([rule({ selective: true })]);
    const p = t.plan(noOurs);
    expect(describeOps(p.beforeRoutes)).toEqual(['rule.create pref 5549 lookup 5549 proto 200']);
    expect(describeOps(p.afterRoutes)).toEqual(['rule.delete pref 5549 lookup 5549 proto 200']);
  });

  it('no rule when rule-priority is null', () => {
    const t = new OwnTable({ ...config, rulePriority: undefined });
    expect(t.keepsRule).toBe(false);
    expect(t.plan(noOurs)).toEqual({ beforeRoutes: [], afterRoutes: [] });
  });

  it('throws follow main and ours: created after route writes, deleted before them, at our metric only', () => {
    const t = new OwnTable({ ...config, rulePriority: undefined });
    const o = ours('10.99.2.0/24');
    t.noteOurs(pfx('10.99.2.0/24').addr, 24);
    const c = pfx('10.99.2.128/25');
    t.beginMainDump();
    t.mainDumped(c.addr, c.len, 0, true);
    const p1 = t.plan(o.has);
    expect(describeOps(p1.afterRoutes)).toEqual(['throw.create 10.99.2.128/25 table 5549 metric 20']);
    t.recorded(p1.afterRoutes[0]!, true);
    expect(t.throwCount).toBe(1);
    expect(t.needsPlan).toBe(false);
    // the connected route goes (ip addr del): the throw goes
    t.noteMainRoute('del', c.addr, c.len, 0, true);
    expect(t.needsPlan).toBe(true);
    const p2 = t.plan(o.has);
    expect(describeOps(p2.beforeRoutes)).toEqual(['throw.delete 10.99.2.128/25 table 5549 metric 20']);
    t.recorded(p2.beforeRoutes[0]!, true);
    expect(t.throwCount).toBe(0);
    // a stray throw of ours at another metric, and one a route of ours now wants the key of
    t.noteMainRoute('new', c.addr, c.len, 0, true);
    t.noteThrow('new', c.addr, c.len, 99);
    t.noteOurs(c.addr, c.len);
    const both = ours('10.99.2.0/24', '10.99.2.128/25');
    expect(describeOps(t.plan(both.has).beforeRoutes)).toEqual(['throw.delete 10.99.2.128/25 table 5549 metric 99']);
  });

  it('a throw the kernel refused (a foreign route at its key) is not retried before the next dump; re-making a deleted one is a repair', () => {
    const t = new OwnTable(config);
    t.setRules([rule()]);
    const o = ours('10.99.2.0/24');
    const c = pfx('10.99.2.128/25');
    t.noteOurs(pfx('10.99.2.0/24').addr, 24);
    t.beginMainDump();
    t.mainDumped(c.addr, c.len, 0, true);
    const create = t.plan(o.has).afterRoutes[0]!;
    expect(t.isRepair(create)).toBe(false);
    t.recorded(create, false);
    t.markDirty();
    expect(t.plan(o.has).afterRoutes).toEqual([]);
    t.beginMainDump();
    t.mainDumped(c.addr, c.len, 0, true);
    const again = t.plan(o.has).afterRoutes[0]!;
    t.recorded(again, true);
    t.noteThrow('del', c.addr, c.len, 20);
    t.noteRule('del', rule());
    const p = t.plan(o.has);
    expect([...p.beforeRoutes, ...p.afterRoutes].map((op) => [op.kind, t.isRepair(op)])).toEqual([['rule.create', true], ['throw.create', true]]);
    t.clearDrift();
    expect(t.isRepair(again)).toBe(false);
  });

  it('none when our table is main (no rule there either: the config gives none)', () => {
    const t = new OwnTable({ ...config, table: 254, rulePriority: undefined });
    const c = pfx('10.99.2.128/25');
    t.noteMainRoute('new', c.addr, c.len, 0, true);
    expect(t.plan(ours('10.99.2.0/24').has)).toEqual({ beforeRoutes: [], afterRoutes: [] });
    expect(t.needsPlan).toBe(false); // nothing left to plan: the reconciler goes idle
  });
});
