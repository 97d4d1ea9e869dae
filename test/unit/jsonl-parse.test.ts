import { describe, expect, it } from 'vitest';
import { parseRtTables } from '../../src/model/route-table.js';
import { parseJsonLine } from '../../src/sources/jsonl-parse.js';
import { LineSplitter } from '../../src/sources/line-splitter.js';

const ctx = { defaultTable: 254, tables: parseRtTables('100 blue\n'), vrfTable: () => undefined };
const parse = (line: string | object) => parseJsonLine(typeof line === 'string' ? line : JSON.stringify(line), ctx);
const nh = { via: 'fe80::a00:27ff:fe25:4c23', dev: 'eth1' };

describe('JSON-lines parsing', () => {
  it('parses add with defaults, names and sorting', () => {
    const r = parse({ op: 'add', prefix: '10.1.0.0/24', nexthops: [{ via: 'fe80::2', dev: 'eth2' }, nh], table: 'blue' });
    expect(r).toEqual({
      ok: true,
      update: {
        op: 'add',
        route: {
          table: 100,
          prefix: { addr: 0x0a010000, len: 24, key: '10.1.0.0/24' },
          nexthops: [{ interface: 'eth1', linkLocal: 'fe80::a00:27ff:fe25:4c23' }, { interface: 'eth2', linkLocal: 'fe80::2' }],
        },
      },
    });
    expect(parse({ op: 'add', prefix: '10.1.0.0/24', nexthops: [nh] })).toMatchObject({ ok: true, update: { route: { table: 254 } } });
  });

  it('parses withdraw and the replay markers', () => {
    expect(parse({ op: 'withdraw', prefix: '10.1.0.0/24', table: 254 })).toMatchObject({ ok: true, update: { op: 'withdraw', table: 254 } });
    expect(parse({ op: 'sync-begin' })).toEqual({ ok: true, update: { op: 'sync-begin' } });
    expect(parse({ op: 'sync-end' })).toEqual({ ok: true, update: { op: 'sync-end' } });
    expect(parse({ op: 'ack' })).toEqual({ ok: true, update: { op: 'ack' } });
    expect(parse({ op: 'ack', id: 1 })).toMatchObject({ ok: false, error: expect.stringContaining('id: unknown field') });
  });

  it.each([
    ['{"op":"add",', /^invalid JSON/],
    ['[1,2]', /^a line must be a JSON object, got \[1,2\]/],
    ['null', /^a line must be a JSON object, got null/],
    [{ op: 'flap' }, /^op: unknown op "flap"/],
    [{ prefix: '10.0.0.0/8' }, /^op: unknown op missing/],
    [{ op: 'add', prefix: '10.1.0.0/24', nexthops: [nh], extra: 1 }, /^extra: unknown field for op "add" \(value 1\)/],
    [{ op: 'sync-begin', prefix: '10.0.0.0/8' }, /^prefix: unknown field for op "sync-begin"/],
    [{ op: 'add', nexthops: [nh] }, /^prefix: expected a string .* got missing/],
    [{ op: 'add', prefix: 10, nexthops: [nh] }, /^prefix: expected a string .* got 10/],
    [{ op: 'add', prefix: '10.1.0.1/24', nexthops: [nh] }, /^prefix: "10.1.0.1\/24" has host bits set/],
    [{ op: 'add', prefix: '10.1.0.0/40', nexthops: [nh] }, /^prefix: "10.1.0.0\/40" has a prefix length above 32/],
    [{ op: 'add', prefix: '2001:db8::/32', nexthops: [nh] }, /^prefix: "2001:db8::\/32" is not an IPv4 prefix/],
    [{ op: 'add', prefix: '10.1.0.0/24' }, /^nexthops: expected a non-empty array .* got missing/],
    [{ op: 'add', prefix: '10.1.0.0/24', nexthops: [] }, /^nexthops: expected a non-empty array .* got \[\]/],
    [{ op: 'add', prefix: '10.1.0.0/24', nexthops: ['fe80::1'] }, /^nexthops\[0\]: expected an object/],
    [{ op: 'add', prefix: '10.1.0.0/24', nexthops: [{ via: '2001:db8::1', dev: 'eth1' }] }, /^nexthops\[0\]\.via: "2001:db8::1" is not an IPv6 link-local address/],
    [{ op: 'add', prefix: '10.1.0.0/24', nexthops: [{ via: '169.254.0.1', dev: 'eth1' }] }, /^nexthops\[0\]\.via: "169.254.0.1" is not an IPv6 address/],
    [{ op: 'add', prefix: '10.1.0.0/24', nexthops: [{ via: 'fe80::1%eth1', dev: 'eth1' }] }, /^nexthops\[0\]\.via: "fe80::1%eth1" carries a zone/],
    [{ op: 'add', prefix: '10.1.0.0/24', nexthops: [{ via: 'fe80::1' }] }, /^nexthops\[0\]\.dev: expected an interface name, got missing/],
    [{ op: 'add', prefix: '10.1.0.0/24', nexthops: [{ via: 'fe80::1', dev: 'x'.repeat(16) }] }, /^nexthops\[0\]\.dev: "x{16}" is not a valid interface name/],
    [{ op: 'add', prefix: '10.1.0.0/24', nexthops: [{ via: 'fe80::1', dev: 'eth1', weight: 2 }] }, /^nexthops\[0\]\.weight: unknown field \(value 2\)/],
    [{ op: 'add', prefix: '10.1.0.0/24', nexthops: [nh, nh] }, /^nexthops\[1\]: duplicates an earlier next hop/],
    [{ op: 'add', prefix: '10.1.0.0/24', nexthops: [nh], table: 'red' }, /^table: "red" is not a table known to rt_tables/],
    [{ op: 'add', prefix: '10.1.0.0/24', nexthops: [nh], table: 255 }, /^table: 255 is the kernel's local table/],
    [{ op: 'add', prefix: '10.1.0.0/24', nexthops: [nh], table: 0 }, /^table: 0 is not a table id/],
    [{ op: 'add', prefix: '10.1.0.0/24', nexthops: [nh], table: 1.5 }, /^table: 1.5 is not a table id/],
    [{ op: 'withdraw', prefix: '10.1.0.0/24', nexthops: [nh] }, /^nexthops: unknown field for op "withdraw"/],
  ])('rejects %j', (line, error) => {
    const r = parse(line);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(error);
  });
});

describe('line splitter', () => {
  it('joins lines across chunks and bounds a long line', () => {
    const s = new LineSplitter(10);
    const got: { text: string; tooLong: boolean }[] = [];
    const collect = (text: string, tooLong: boolean) => got.push({ text, tooLong });
    for (const c of [Buffer.from('ab'), Buffer.from('c\nde\n0123456789'), Buffer.from('X\nok\n')]) s.push(c, collect);
    // a character split across chunks stays whole; a 4-byte character counts 4 bytes
    const euro = Buffer.from('é€\n');
    s.push(euro.subarray(0, 2), collect);
    s.push(euro.subarray(2), collect);
    s.push(Buffer.from('😀😀😀\n'), collect);
    expect(got).toEqual([
      { text: 'abc', tooLong: false },
      { text: 'de', tooLong: false },
      { text: '', tooLong: true },
      { text: 'ok', tooLong: false },
      { text: 'é€', tooLong: false },
      { text: '', tooLong: true },
    ]);
  });
});
