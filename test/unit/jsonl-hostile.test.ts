// Issue 12: lines an attacker on the socket would send. Each used to end the process (a
// TypeError or RangeError nothing caught); now each is one clean error naming the field.
import { describe, expect, it } from 'vitest';
import { parseRtTables } from '../../src/model/route-table.js';
import { MAX_JSON_DEPTH, parseJsonLine } from '../../src/sources/jsonl-parse.js';

const ctx = { defaultTable: 254, tables: parseRtTables('100 blue\n'), vrfTable: () => undefined };
const nh = { via: 'fe80::a00:27ff:fe25:4c23', dev: 'eth1' };
const PROTO_NAMES = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString', '__defineGetter__', '__lookupGetter__'];
const refusal = (line: string) => {
  const r = parseJsonLine(line, ctx);
  if (r.ok) throw new Error(`accepted ${line}`);
  return r;
};
const nest = (n: number, inner = '1') => `${'['.repeat(n)}${inner}${']'.repeat(n)}`;
const nestObj = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;

describe('JSON lines from a hostile client', () => {
  it.each(PROTO_NAMES)('op %j (an Object.prototype member) is an unknown op', (name) => {
    expect(refusal(JSON.stringify({ op: name })).error).toBe(`op: unknown op ${JSON.stringify(name)} (expected add, withdraw, sync-begin, sync-end or ack)`);
    expect(refusal(`{"op":${JSON.stringify(name)},"prefix":"10.1.0.0/24"}`).field).toBe('op');
  });

  it.each(PROTO_NAMES)('%j as a key is an unknown field, at the top and in a next hop', (name) => {
    expect(refusal(`{"op":"add","prefix":"10.1.0.0/24","nexthops":[${JSON.stringify(nh)}],${JSON.stringify(name)}:1}`)).toMatchObject({ field: name, error: `${name}: unknown field for op "add" (value 1)` });
    expect(refusal(`{"op":"add","prefix":"10.1.0.0/24","nexthops":[{"via":"fe80::1","dev":"eth1",${JSON.stringify(name)}:{}}]}`)).toMatchObject({ field: `nexthops[0].${name}` });
  });

  it('prototype names as keys are never read through the prototype', () => {
    // "op" missing but inherited names present: still "missing", not a function
    expect(refusal('{"constructor":"add"}').error).toMatch(/^op: unknown op missing/);
    expect(refusal('{"__proto__":{"op":"add"}}').error).toMatch(/^op: unknown op missing/);
    expect(refusal('{"op":"add","prefix":"10.1.0.0/24","__proto__":{"nexthops":[1]}}').field).toBe('__proto__');
  });

  it.each(PROTO_NAMES)('%j as a value is refused with the field named', (name) => {
    const v = JSON.stringify(name);
    expect(refusal(`{"op":"add","prefix":${v},"nexthops":[${JSON.stringify(nh)}]}`).field).toBe('prefix');
    expect(refusal(`{"op":"add","prefix":"10.1.0.0/24","nexthops":[${JSON.stringify(nh)}],"table":${v}}`).error).toBe(`table: ${v} is not a table known to rt_tables`);
    expect(refusal(`{"op":"add","prefix":"10.1.0.0/24","nexthops":[{"via":${v},"dev":"eth1"}]}`).field).toBe('nexthops[0].via');
    expect(refusal(`{"op":"withdraw","prefix":"10.1.0.0/24","vrf":${v}}`).field).toBe('vrf');
    // a device may be called "constructor"; the route is then fine
    expect(parseJsonLine(`{"op":"add","prefix":"10.1.0.0/24","nexthops":[{"via":"fe80::1","dev":${v}}]}`, ctx).ok).toBe(name.length <= 15);
  });

  it.each([
    ['top level', nest(4000)],
    ['an object at top level', nestObj(3000)],
    ['op', `{"op":${nest(4000)}}`],
    ['prefix', `{"op":"add","prefix":${nest(4000)}}`],
    ['table', `{"op":"add","prefix":"10.1.0.0/24","nexthops":[${JSON.stringify(nh)}],"table":${nest(4000)}}`],
    ['vrf', `{"op":"withdraw","prefix":"10.1.0.0/24","vrf":${nestObj(2000)}}`],
    ['an unknown key', `{"op":"add","colour":${nest(4000)}}`],
    ['nexthops', `{"op":"add","prefix":"10.1.0.0/24","nexthops":${nest(4000)}}`],
    ['a next hop field', `{"op":"add","prefix":"10.1.0.0/24","nexthops":[{"via":${nest(4000)},"dev":"eth1"}]}`],
  ])('a value nested thousands of levels deep in %s is refused, not a RangeError', (_where, line) => {
    expect(line.length).toBeLessThan(65_536);
    const r = refusal(line);
    expect(r.error).toMatch(new RegExp(`nested deeper than ${MAX_JSON_DEPTH} levels`));
    expect(r.error.length).toBeLessThan(200);
  });

  it('names the top-level key that holds the deep value', () => {
    expect(refusal(`{"op":"add","nexthops":${nest(100)}}`).field).toBe('nexthops');
    expect(refusal(nest(100)).field).toBe('line');
    // brackets inside strings do not count
    expect(parseJsonLine(JSON.stringify({ op: 'add', prefix: '['.repeat(100), nexthops: [nh] }), ctx)).toMatchObject({ ok: false, field: 'prefix' });
    // nesting just under the cap reaches the usual checks
    expect(refusal(`{"op":"add","prefix":"10.1.0.0/24","nexthops":[${nest(MAX_JSON_DEPTH - 3, '{}')}]}`).field).toBe('nexthops[0]');
  });

  it('every echoed value is a bounded, escaped excerpt', () => {
    const long = 'x'.repeat(60_000);
    for (const line of [
      `{"op":"${long}"}`,
      `{"op":"add","prefix":"${long}"}`,
      `{"op":"add","prefix":"10.1.0.0/24","nexthops":[{"via":"${long}","dev":"eth1"}]}`,
      `{"op":"add","prefix":"10.1.0.0/24","nexthops":[{"via":"fe80::1","dev":"${long}"}]}`,
      `{"op":"add","prefix":"10.1.0.0/24","nexthops":[${JSON.stringify(nh)}],"table":"${long}"}`,
      `{"op":"add","${long}":1}`,
      `{"op":"add","prefix":"10.1.0.0/24","nexthops":[${Array.from({ length: 3000 }, () => '"fe80::1"').join(',')}]}`,
    ]) {
      expect(refusal(line).error.length).toBeLessThan(400);
    }
    const ctl = refusal(JSON.stringify({ op: 'add', prefix: '\u001b[2J\u001b[31m10.0.0.0/8\u0007\u009b' })).error;
    expect(ctl).toBe('prefix: "\\u001b[2J\\u001b[31m10.0.0.0/8\\u0007\\u009b" is not an IPv4 prefix (a.b.c.d/len)');
    expect(ctl).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });
});
