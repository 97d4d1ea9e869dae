// One validation for every source (issue 12): what FPM, JSON lines and any later source
// hand the RIB passes the same checks in Rib.add, with the same codes and words.
import { describe, expect, it } from 'vitest';
import { RTNH_F_ONLINK, writeNewRoute } from '../../src/kernel/rtnetlink-codec.js';
import { makePrefix } from '../../src/model/ipv4-prefix.js';
import { defaultTableNames } from '../../src/model/route-table.js';
import { Rib } from '../../src/rib/rib.js';
import { RoutePolicy } from '../../src/rib/route-policy.js';
import { MAX_LEGS_CEILING, validateRoute } from '../../src/rib/route-validation.js';
import type { DesiredRoute, PeerNexthop } from '../../src/rib/route.js';
import { parseJsonLine } from '../../src/sources/jsonl-parse.js';
import { decodeFpmFrame } from '../../src/sources/fpm/fpm-decode.js';
import { FpmSession } from '../../src/sources/fpm/fpm-session.js';
import { fpmFrame, fpmRoute } from '../helpers/fpm-frames.js';

const legs = (n: number): PeerNexthop[] =>
  Array.from({ length: n }, (_, i) => ({ interface: `h${i % 8}`, linkLocal: `fe80::${(i + 1).toString(16)}` as PeerNexthop['linkLocal'] }));
const route = (table: number, addr: number, len: number, n = 1): DesiredRoute => ({ table, prefix: makePrefix(addr, len), nexthops: legs(n) });

describe('validateRoute', () => {
  it.each([
    [route(0, 0x0a000000, 24), 'INPUT_INVALID', /^table: 0 is RT_TABLE_UNSPEC/],
    [route(252, 0x0a000000, 24), 'INPUT_INVALID', /^table: 252 is RT_TABLE_COMPAT/],
    [route(253, 0x0a000000, 24), 'INPUT_INVALID', /^table: 253 is the kernel's "default" table/],
    [route(255, 0x0a000000, 24), 'INPUT_INVALID', /^table: 255 is the kernel's local table/],
    [route(1000, 0x0a000000, 33), 'INPUT_INVALID', /^prefix: length 33 of "10.0.0.0\/33" is not 0 to 32/],
    [route(1000, 0x0a000001, 24), 'INPUT_INVALID', /^prefix: "10.0.0.1\/24" has host bits set \(did you mean 10.0.0.0\/24\?\)/],
    [route(1000, 0x0a000000, 24, 0), 'INPUT_INVALID', /^nexthops: none/],
    [route(1000, 0x0a000000, 24, 65), 'LIMIT_EXCEEDED', /^prefix "10.0.0.0\/24": nexthops: 65 next hops, more than limits.max-legs \(64\)/],
  ])('refuses %j', (r, code, message) => {
    const v = validateRoute(r, 64);
    expect(v?.code).toBe(code);
    expect(v?.message).toMatch(message);
  });

  it.each([[route(254, 0x0a000000, 24)], [route(1000, 0, 0)], [route(5549, 0x0a000001, 32, 64)], [route(0xffffffff, 0x0a000000, 8)]])('accepts %j', (r) => {
    expect(validateRoute(r, 64)).toBeUndefined();
  });
});

describe('Rib.add validates every route, whatever the source', () => {
  const rib = (maxLegs = 64): Rib => {
    const r = new Rib();
    r.setPolicy(new RoutePolicy({ defaultAction: 'accept', rules: [] }, 1000, maxLegs));
    return r;
  };

  it('refuses, records the refusal for routes --pending, and holds nothing', () => {
    const r = rib(4);
    expect(r.add('x', route(255, 0x0a000000, 24))).toBe('refused');
    expect(r.add('x', route(1000, 0x0a000000, 24, 5))).toBe('refused');
    expect(r.refusalOf(1000, makePrefix(0x0a000000, 24))).toEqual({ code: 'LIMIT_EXCEEDED', message: expect.stringContaining('more than limits.max-legs (4)') });
    expect(r.add('x', route(1000, 0x0a000000, 24, 4))).toBe('added');
    expect(r.size).toBe(1);
    expect([...r.refusals.keys()]).toEqual(['255:10.0.0.0/24']);
    expect(r.stats().refused).toEqual({ INPUT_INVALID: 1, LIMIT_EXCEEDED: 1, ROUTE_FILTERED: 0 });
  });

  // Today FPM installs table 255 into the local table, holds table 0, and passes dst_len 33
  // and host bits to the RIB.
  it.each([
    [{ table: 255 }, /^table: 255 is the kernel's local table/],
    [{ table: 0 }, /^table: 0 is RT_TABLE_UNSPEC/],
    [{ table: 253 }, /^table: 253/],
    [{ dstLen: 33 }, /^prefix: length 33/],
    [{ dst: 0x0a000001 }, /^prefix: "10.0.0.1\/24" has host bits set/],
  ])('an FPM route with %j is refused', (extra, message) => {
    const r = rib();
    let refusal: ReturnType<Rib['refusalOf']>;
    const session = new FpmSession('fpm#1', { protocols: new Set([186]), mainTable: 5549, ifname: () => 'h0' }, {
      add: (s, route) => {
        if (r.add(s, route) === 'refused') refusal = r.refusalOf(route.table, route.prefix);
      },
      withdraw: (t, p) => r.withdraw(t, p),
    });
    const frame = fpmFrame((w) => writeNewRoute(w, 0, fpmRoute([{ ifindex: 2, gateway: 0xa9fe0001, flags: RTNH_F_ONLINK }], extra), 'replace', false));
    for (const item of decodeFpmFrame(frame.subarray(4))) session.handle(item);
    expect(r.size).toBe(0);
    expect(refusal?.code).toBe('INPUT_INVALID');
    expect(refusal?.message).toMatch(message);
  });

  it('a JSON-lines route over limits.max-legs gets the same code and words as an FPM one', () => {
    const r = rib(3);
    const nexthops = legs(4).map((n) => ({ via: n.linkLocal, dev: n.interface }));
    const parsed = parseJsonLine(JSON.stringify({ op: 'add', prefix: '10.0.0.0/24', nexthops }), { defaultTable: 5549, tables: defaultTableNames(), vrfTable: () => undefined });
    if (!parsed.ok || parsed.update.op !== 'add') throw new Error(`parse: ${JSON.stringify(parsed)}`);
    expect(r.add('jsonl#1', parsed.update.route)).toBe('refused');
    const fromJson = r.refusalOf(5549, makePrefix(0x0a000000, 24));
    r.add('fpm#1', { table: 5549, prefix: makePrefix(0x0a000000, 24), nexthops: legs(4) });
    expect(fromJson).toEqual(r.refusalOf(5549, makePrefix(0x0a000000, 24)));
    expect(fromJson?.code).toBe('LIMIT_EXCEEDED');
  });

  it('the JSON-lines parser bounds its work at the highest limits.max-legs', () => {
    const nexthops = legs(MAX_LEGS_CEILING + 1).map((n) => ({ via: n.linkLocal, dev: n.interface }));
    const parsed = parseJsonLine(JSON.stringify({ op: 'add', prefix: '10.0.0.0/24', nexthops }), { defaultTable: 5549, tables: defaultTableNames(), vrfTable: () => undefined });
    expect(parsed).toEqual({ ok: false, field: 'nexthops', error: `nexthops: ${MAX_LEGS_CEILING + 1} next hops, more than limits.max-legs can ever allow (${MAX_LEGS_CEILING})` });
  });
});
