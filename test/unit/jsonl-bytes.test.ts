import { describe, expect, it } from 'vitest';
import { parseRtTables } from '../../src/model/route-table.js';
import { ByteLineSplitter } from '../../src/sources/byte-line-splitter.js';
import { CanonicalLineReader, LINE_ADD, LINE_OTHER, LINE_WITHDRAW } from '../../src/sources/jsonl-bytes.js';
import { parseJsonLine } from '../../src/sources/jsonl-parse.js';

const ctx = { defaultTable: 254, tables: parseRtTables('100 blue\n'), vrfTable: () => undefined };
const A = { via: 'fe80::a00:27ff:fe25:4c23', dev: 'eth1' };
const B = { via: 'fe80::2', dev: 'eth0' };
const CANONICAL = [
  JSON.stringify({ op: 'add', prefix: '10.1.0.0/24', nexthops: [A] }),
  JSON.stringify({ op: 'add', prefix: '10.1.1.0/24', nexthops: [A] }),
  JSON.stringify({ op: 'add', prefix: '10.1.0.0/24', nexthops: [A, B] }),
  JSON.stringify({ op: 'add', prefix: '0.0.0.0/0', nexthops: [B] }),
  JSON.stringify({ op: 'add', prefix: '255.255.255.255/32', nexthops: [B, A] }),
  JSON.stringify({ op: 'withdraw', prefix: '10.1.0.0/24' }),
  JSON.stringify({ op: 'withdraw', prefix: '192.0.2.128/25' }),
];

/** What the reader made of a line, as the string parser's update shape; undefined when it left it. */
function viaBytes(r: CanonicalLineReader, line: string): unknown {
  const buf = Buffer.from(line, 'utf8');
  const kind = r.read(buf, 0, buf.length);
  const prefix = { addr: r.prefix.addr, len: r.prefix.len, key: r.prefix.key };
  if (kind === LINE_ADD) return { op: 'add', route: { table: r.route.table, prefix, nexthops: r.route.nexthops } };
  if (kind === LINE_WITHDRAW) return { op: 'withdraw', table: r.route.table, prefix };
  expect(kind).toBe(LINE_OTHER);
  return undefined;
}

/** Every line that differs from a canonical one in one byte: dropped, doubled or replaced. */
function nearMisses(line: string): string[] {
  const out: string[] = [];
  const swaps = ['0', '1', '9', '.', '/', '"', '\\', ' ', '}', ']', ',', 'a', '\u00e9', '\u0001'];
  for (let i = 0; i < line.length; i++) {
    out.push(line.slice(0, i) + line.slice(i + 1), line.slice(0, i) + line[i] + line.slice(i));
    for (const c of swaps) out.push(line.slice(0, i) + c + line.slice(i + 1));
  }
  return out;
}

describe('JSON-lines canonical lines read from bytes', () => {
  it('takes the canonical lines, with what the full parser makes of them', () => {
    const r = new CanonicalLineReader(254);
    for (const line of [...CANONICAL, ...[...CANONICAL].reverse()]) {
      const mine = viaBytes(r, line);
      expect(mine, line).toBeDefined();
      expect({ ok: true, update: mine }, line).toEqual(parseJsonLine(line, ctx));
    }
  });

  it('never takes a line the full parser answers otherwise: every one-byte change of a canonical line', () => {
    const r = new CanonicalLineReader(254);
    let taken = 0;
    let left = 0;
    for (const base of CANONICAL) {
      for (const line of nearMisses(base)) {
        viaBytes(r, base); // the next-hop cache primed with the unchanged line
        const mine = viaBytes(r, line);
        if (mine === undefined) {
          left++;
          continue;
        }
        taken++;
        expect({ ok: true, update: mine }, line).toEqual(parseJsonLine(line, ctx));
      }
    }
    // Both kinds occur: e.g. 10.1.0.0/24 -> 10.1.0.0/2 is still canonical, a quote out of place is not.
    expect(taken).toBeGreaterThan(20);
    expect(left).toBeGreaterThan(1000);
  });

  it('leaves to the full parser host bits, leading zeros, long lengths, spaces and odd tails', () => {
    const r = new CanonicalLineReader(254);
    for (const line of [
      '{"op":"withdraw","prefix":"10.1.0.1/24"}', '{"op":"withdraw","prefix":"010.1.0.0/24"}', '{"op":"withdraw","prefix":"10.1.0.0/024"}',
      '{"op":"withdraw","prefix":"10.1.0.0/33"}', '{"op":"withdraw","prefix":"256.1.0.0/24"}', '{"op":"withdraw","prefix":"10.1.0.0/24"} ',
      '{"op":"withdraw","prefix":"10.1.0.0/24"}\r', '{"op":"withdraw","prefix":"10.1.0/24"}', '{"op":"withdraw","prefix":"10.1.0.0.0/24"}',
      `{"op":"add","prefix":"10.1.0.0/24","nexthops":[{"via":"fe80::2","dev":"eth0"},{"via":"fe80::2","dev":"eth0"}]}`,
      `{"op":"add","prefix":"10.1.0.0/24","nexthops":[{"via":"fe80::2","dev":"\u00e9th0"}]}`,
      `{"op":"add","prefix":"10.1.0.0/24","nexthops":[]}`,
    ]) expect(viaBytes(r, line), line).toBeUndefined();
  });
});

describe('ByteLineSplitter', () => {
  const split = (chunks: (string | Buffer)[], max = 16): string[] => {
    const s = new ByteLineSplitter(max);
    const out: string[] = [];
    for (const c of chunks) s.push(Buffer.isBuffer(c) ? c : Buffer.from(c), (buf, from, to, tooLong) => out.push(tooLong ? '<too long>' : buf.toString('utf8', from, to)));
    return out;
  };

  it('gives each line once, whole, however the chunks cut it', () => {
    expect(split(['ab\ncd', 'ef\n\ngh', 'i\n'])).toEqual(['ab', 'cdef', '', 'ghi']);
    expect(split(['a', 'b', 'c', '\n'])).toEqual(['abc']);
    // a two-byte character cut in half by the chunks
    const e = Buffer.from('\u00e9\n');
    expect(split([e.subarray(0, 1), e.subarray(1)])).toEqual(['\u00e9']);
  });

  it('reports a line over the limit once and keeps none of it, in one chunk or across many', () => {
    expect(split(['x'.repeat(17) + '\nok\n'])).toEqual(['<too long>', 'ok']);
    expect(split(['x'.repeat(10), 'x'.repeat(10), 'x'.repeat(40), '\nok\n'])).toEqual(['<too long>', 'ok']);
    expect(split(['x'.repeat(10), 'x'.repeat(7) + '\nok\n'])).toEqual(['<too long>', 'ok']);
    expect(split(['x'.repeat(16) + '\n'])).toEqual(['x'.repeat(16)]);
    // counted in bytes, not characters: 9 two-byte characters are 18 bytes
    expect(split(['\u00e9'.repeat(9) + '\n'])).toEqual(['<too long>']);
  });
});
