import { describe, expect, it } from 'vitest';
import { parseRtTables } from '../../src/model/route-table.js';
import { FastLineCache, parseCanonicalLine } from '../../src/sources/jsonl-fast.js';
import { parseJsonLine } from '../../src/sources/jsonl-parse.js';

const ctx = { defaultTable: 254, tables: parseRtTables('100 blue\n'), vrfTable: () => undefined };
const A = { via: 'fe80::a00:27ff:fe25:4c23', dev: 'eth1' };
const B = { via: 'fe80::2', dev: 'eth0' };

// Lines the fast path reads, and near misses it must leave to the full parser.
const LINES: string[] = [
  JSON.stringify({ op: 'add', prefix: '10.1.0.0/24', nexthops: [A] }),
  JSON.stringify({ op: 'add', prefix: '10.1.1.0/24', nexthops: [A] }),
  JSON.stringify({ op: 'add', prefix: '10.1.0.0/24', nexthops: [A, B] }),
  JSON.stringify({ op: 'add', prefix: '10.1.0.0/24', nexthops: [B, A] }),
  JSON.stringify({ op: 'withdraw', prefix: '10.1.0.0/24' }),
  // near misses
  JSON.stringify({ op: 'add', prefix: '10.1.0.1/24', nexthops: [A] }), // host bits
  JSON.stringify({ op: 'add', prefix: '10.1.0.0/33', nexthops: [A] }),
  JSON.stringify({ op: 'add', prefix: '10.1.0.0/24', nexthops: [A, A] }), // duplicate
  JSON.stringify({ op: 'add', prefix: '10.1.0.0/24', nexthops: [] }),
  JSON.stringify({ op: 'add', prefix: '10.1.0.0/24', nexthops: [{ via: 'fe80::1', dev: 'a/b' }] }),
  JSON.stringify({ op: 'add', prefix: '10.1.0.0/24', nexthops: [{ via: '2001:db8::1', dev: 'eth1' }] }),
  JSON.stringify({ op: 'add', prefix: '10.1.0.0/24', nexthops: [A], table: 'blue' }),
  JSON.stringify({ op: 'add', prefix: '10.1.0.0/24', nexthops: [A], extra: 1 }),
  JSON.stringify({ op: 'add', prefix: '10.1.0.0/24', nexthops: [{ ...A, weight: 2 }] }),
  JSON.stringify({ op: 'add', prefix: '10.1.0.0/24', nexthops: Array.from({ length: 300 }, (_, i) => ({ via: `fe80::${(i + 1).toString(16)}`, dev: 'eth1' })) }),
  JSON.stringify({ op: 'withdraw', prefix: '10.1.0.0/24', table: 254 }),
  JSON.stringify({ op: 'withdraw', prefix: '10.1.0.0/24', nexthops: [A] }),
  '{"op":"add","prefix":"10.1.0.0\\/24","nexthops":[{"via":"fe80::2","dev":"eth0"}]}', // an escape
  '{"op":"add","prefix":"10.1.0.0/24","nexthops":[{"via":"fe80::2","dev":"eth\\u0030"}]}',
  '{"op":"add","prefix":"10.1.0.0/24","nexthops":[{"via":"fe80::2","dev":"eth0\u0001"}]}',
  '{"op":"add","prefix":"10.1.0.0/24","nexthops":[{"via":"fe80::2","dev":"eth0"}]}}',
  '{"op":"add","prefix":"10.1.0.0/24","nexthops":[{"via":"fe80::2","dev":"eth0"}],"prefix":"10.2.0.0/24"}',
  '{"op":"add","prefix":"10.1.0.0/24","nexthops":[{"via":"fe80::2","dev":"eth0"},]}',
  '{"op":"add","prefix":"10.1.0.0/24","nexthops":[{"via":"fe80::2","dev":"eth0"}]',
  '{"op":"withdraw","prefix":"10.1.0.0/24"}x',
  '{"op":"withdraw","prefix":"10.1.0.0/24"',
  '{"op":"withdraw","prefix":"10.1.0.0/24","prefix":"10.9.0.0/16"}',
  '{"op": "add","prefix":"10.1.0.0/24","nexthops":[{"via":"fe80::2","dev":"eth0"}]}',
];

describe('JSON-lines fast path', () => {
  it('answers exactly what the full parser answers, line for line, with a shared cache', () => {
    const cache = new FastLineCache();
    for (const line of [...LINES, ...[...LINES].reverse()]) {
      expect(parseJsonLine(line, ctx, cache), line).toEqual(parseJsonLine(line, ctx));
    }
  });

  it('takes the canonical lines itself and leaves the rest to the full parser', () => {
    const cache = new FastLineCache();
    expect(parseCanonicalLine(LINES[0]!, 254, cache)).toEqual({ op: 'add', route: { table: 254, prefix: { addr: 0x0a010000, len: 24, key: '10.1.0.0/24' }, nexthops: [{ interface: 'eth1', linkLocal: 'fe80::a00:27ff:fe25:4c23' }] } });
    expect(parseCanonicalLine(LINES[4]!, 254, cache)).toEqual({ op: 'withdraw', table: 254, prefix: { addr: 0x0a010000, len: 24, key: '10.1.0.0/24' } });
    for (const line of LINES.slice(5)) expect(parseCanonicalLine(line, 254, cache), line).toBeUndefined();
  });
});
