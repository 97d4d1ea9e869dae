// Fuzz target for the JSON-lines source: bytes in random chunks through the ByteLineSplitter,
// each line through the byte reader of canonical lines and parseJsonLine, as jsonl-server.ts
// does per connection; what the byte reader takes must be what parseJsonLine makes of it. Lines are built
// from valid updates with hostile values put in: wrong types, Object.prototype names as
// keys and values, deep nesting, huge numbers, unicode, zones, bad prefixes, long lines.
import type { Rng } from './rng.js';
import { parseJsonLine, type JsonlContext } from '../../src/sources/jsonl-parse.js';
import { ByteLineSplitter } from '../../src/sources/byte-line-splitter.js';
import { CanonicalLineReader, LINE_ADD, LINE_OTHER } from '../../src/sources/jsonl-bytes.js';
import { isDeepStrictEqual } from 'node:util';
import { Rfc5549Error } from '../../src/errors.js';
import { PropertyViolation, type FuzzTarget } from './harness.js';
import { checkErrorText, checkingRib } from './properties.js';

const JSONL_MAX_LINE_BYTES = 65536; // the default sources.jsonl.max-line-bytes

export const PROTO_NAMES = [
  'constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', 'propertyIsEnumerable',
  'toLocaleString', '__defineGetter__', '__lookupGetter__', 'prototype', 'length', 'then', 'toJSON',
];
const LINK_LOCALS = ['fe80::ff:fe00:101', 'fe80::1', 'FE80::A00:27FF:FE25:4C23', 'fe80:0:0:0:0:0:0:2', 'fe80::ff:fe00:102'];
const BAD_VIAS = [
  'fe80::1%eth0', 'fe80::1%25eth0', 'fe80::1%', '%eth0', 'fe80::1%h0%h1', '2001:db8::1', '::1', '::', '::ffff:169.254.0.1',
  'fe80::1/64', 'fe80::g', 'fe80:::1', 'fe80::1::2', ' fe80::1', 'fe80::1 ', 'fec0::1', 'febf::1', 'fe80::1\u0000', '1.2.3.4',
  'ｆｅ８０::1', 'fe80::1\u202e', 'fe80:0:0:0:0:0:0:0:1', '[fe80::1]',
];
const PREFIXES = ['10.1.0.0/24', '10.99.1.1/32', '0.0.0.0/0', '192.0.2.0/24', '172.16.0.0/12', '255.255.255.255/32'];
const BAD_PREFIXES = [
  '10.1.0.1/24', '10.1.0.0/33', '10.1.0.0/-1', '10.1.0.0/ 24', '10.1.0.0/024', '010.1.0.0/24', '10.1.0/24', '10.1.0.0.0/24',
  '256.1.0.0/24', '10.1.0.0', '/24', '10.1.0.0/24/8', '0x0a.1.0.0/24', '1e1.0.0.0/8', '10.1.0.0/24\u0000', '１０.1.0.0/24',
  '10.1.0.0/２４', '10.1.0.0/24 ', '-10.1.0.0/24', '10.1.0.0/4294967320', '10.1.0.0/1e1', '::/0', 'fe80::/64', '',
];
const DEVS = ['h0', 'h1', 'eth0', 'swp1'];
const BAD_DEVS = ['', 'a'.repeat(16), 'a/b', 'a:b', 'a b', '.', '..', 'eth0\n', 'ééé', '🙂🙂', 'h0\u0000', '\u001b[31mh0'];
const RAW_NUMBERS = [
  '1e309', '-1e309', '1e-400', '123456789012345678901234567890', '-0', '0.5', '254.0', '2.54e2', '4294967295', '4294967296',
  '9007199254740993', '-1', '0', '255', '253', '1e2', '1000', '5549', '0.0000001',
];
const TABLE_NAMES = ['main', 'local', 'default', 'blue-table', 'nope', 'Main', '254', '0', '255', '0x10', ' 254'];

/** Random text: control bytes, surrogate halves, RTL marks, emoji, the odd long run. */
function unicode(rng: Rng): string {
  const n = rng.size(64);
  let s = '';
  for (let i = 0; i < n; i++) {
    const r = rng.int(8);
    if (r < 2) s += String.fromCharCode(rng.int(0x20));
    else if (r < 3) s += String.fromCharCode(0xd800 + rng.int(0x800)); // lone surrogate
    else if (r < 4) s += rng.pick(['\u202e', '\u200b', '\ufeff', '\u0085', '\u2028', '\u2029', '\u007f', '\u009b']);
    else if (r < 5) s += String.fromCodePoint(0x1f600 + rng.int(64));
    else s += String.fromCharCode(rng.range(0x20, 0x7e));
  }
  return s;
}

function deep(rng: Rng): string {
  const d = rng.chance(0.5) ? rng.range(500, 5000) : rng.range(5000, 30000);
  const r = rng.int(3);
  if (r === 0) return '['.repeat(d) + ']'.repeat(d);
  if (r === 1) return '{"a":'.repeat(Math.floor(d / 5)) + '1' + '}'.repeat(Math.floor(d / 5));
  return '[{"via":'.repeat(Math.floor(d / 8)) + '"fe80::1"' + '}]'.repeat(Math.floor(d / 8));
}

/** Any JSON value, as text, biased to the shapes that break parsers. */
function hostile(rng: Rng): string {
  switch (rng.int(16)) {
    case 0: return rng.pick(['null', 'true', 'false', '[]', '{}', '""', '0']);
    case 1: return rng.pick(RAW_NUMBERS);
    case 2: return JSON.stringify(rng.pick(PROTO_NAMES));
    case 3: return `{${JSON.stringify(rng.pick(PROTO_NAMES))}:${rng.pick(['1', 'null', '{}', '"x"'])}}`;
    case 4: return deep(rng);
    case 5: return JSON.stringify(unicode(rng));
    case 6: return JSON.stringify('x'.repeat(rng.size(70_000)));
    case 7: return JSON.stringify(rng.pick(BAD_VIAS));
    case 8: return JSON.stringify(rng.pick(BAD_PREFIXES));
    case 9: return JSON.stringify(rng.pick(BAD_DEVS));
    case 10: return `[${Array.from({ length: rng.size(400) }, () => rng.pick(['1', '"a"', 'null', '{}'])).join(',')}]`;
    case 11: return JSON.stringify(rng.pick(TABLE_NAMES));
    case 12: return String(rng.u32() * rng.pick([1, -1, 1e10, 1e-10]));
    case 13: return JSON.stringify(rng.pick(LINK_LOCALS) + rng.pick(['', '%', '%eth0', '/10', ' ']));
    case 14: return `{"__proto__":{"op":"add","polluted":true},"constructor":{"prototype":{"x":1}}}`;
    default: return JSON.stringify(rng.pick(['add', 'withdraw', 'sync-begin', 'sync-end', ...PROTO_NAMES, 'ADD', '']));
  }
}

type Pairs = [string, string][];
const obj = (pairs: Pairs): string => `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;

function nexthop(rng: Rng): string {
  const pairs: Pairs = [
    ['via', JSON.stringify(rng.chance(0.85) ? rng.pick(LINK_LOCALS) : rng.pick(BAD_VIAS))],
    ['dev', JSON.stringify(rng.chance(0.9) ? rng.pick(DEVS) : rng.pick(BAD_DEVS))],
  ];
  if (rng.chance(0.15)) pairs[rng.int(2)]![1] = hostile(rng);
  if (rng.chance(0.05)) pairs.push([rng.pick([...PROTO_NAMES, 'weight', 'x']), hostile(rng)]);
  if (rng.chance(0.05)) pairs.splice(rng.int(2), 1);
  return obj(pairs);
}

function update(rng: Rng): Pairs {
  const op = rng.pick(['add', 'add', 'add', 'withdraw', 'sync-begin', 'sync-end']);
  const pairs: Pairs = [['op', JSON.stringify(op)]];
  if (op === 'add' || op === 'withdraw') {
    pairs.push(['prefix', JSON.stringify(rng.chance(0.85) ? rng.pick(PREFIXES) : rng.pick(BAD_PREFIXES))]);
    if (rng.chance(0.3)) pairs.push(['table', rng.chance(0.6) ? rng.pick(RAW_NUMBERS) : JSON.stringify(rng.pick(TABLE_NAMES))]);
    else if (rng.chance(0.1)) pairs.push(['vrf', JSON.stringify(rng.pick(['blue', 'red', 'nope', ...PROTO_NAMES]))]);
  }
  if (op === 'add') {
    const n = rng.chance(0.97) ? rng.range(1, 4) : rng.pick([0, 255, 256, 257, 300, 1000]);
    pairs.push(['nexthops', `[${Array.from({ length: n }, () => nexthop(rng)).join(',')}]`]);
  }
  return pairs;
}

function line(rng: Rng): string {
  const r = rng.int(20);
  if (r === 0) return hostile(rng); // not an object at all, or a deep one
  const pairs = update(rng);
  const rounds = rng.chance(0.3) ? 0 : rng.range(1, 3);
  for (let i = 0; i < rounds; i++) {
    if (pairs.length === 0) pairs.push(['op', JSON.stringify('add')]);
    switch (rng.int(6)) {
      case 0: pairs[rng.int(pairs.length)]![1] = hostile(rng); break;
      case 1: pairs.push([rng.pick([...PROTO_NAMES, 'prefix', 'table', 'vrf', 'nexthops', 'op', '', unicode(rng)]), hostile(rng)]); break;
      case 2: pairs.splice(rng.int(pairs.length), 1); break;
      case 3: pairs.push(['op', JSON.stringify(rng.pick(PROTO_NAMES))]); break; // a duplicate key: the last one wins
      case 4: pairs[0] = ['op', JSON.stringify(rng.pick(PROTO_NAMES))]; break;
      default: pairs.unshift([rng.pick(PROTO_NAMES), hostile(rng)]); break;
    }
  }
  let text = obj(pairs);
  if (rng.chance(0.05)) text = text.slice(0, rng.int(text.length)); // cut short
  if (rng.chance(0.03)) { const o = rng.int(text.length); text = text.slice(0, o) + unicode(rng) + text.slice(o); }
  return text;
}

export interface JsonlInput {
  readonly chunks: readonly Buffer[];
}

const jsonlContext: JsonlContext = {
  defaultTable: 254,
  tables: new Map([['main', 254], ['local', 255], ['default', 253], ['blue-table', 1001]]),
  vrfTable: (name) => (name === 'blue' ? 1001 : name === 'red' ? 1002 : undefined),
};

/** the byte reader took the line: the full parser must make the same update of it */
function checkCanonical(add: boolean, r: CanonicalLineReader, text: string): void {
  const prefix = { addr: r.prefix.addr, len: r.prefix.len, key: r.prefix.key };
  const mine = add ? { op: 'add', route: { table: r.route.table, prefix, nexthops: r.route.nexthops } } : { op: 'withdraw', table: r.route.table, prefix };
  const full = parseJsonLine(text.trim(), jsonlContext);
  if (!full.ok || !isDeepStrictEqual(full.update, mine)) {
    throw new PropertyViolation('jsonl-bytes-differ', `the byte reader took ${JSON.stringify(text.slice(0, 200))} as ${JSON.stringify(mine)}; the parser says ${JSON.stringify(full).slice(0, 300)}`);
  }
}

export function jsonlTarget(): FuzzTarget<JsonlInput> {
  return {
    name: 'jsonl',
    fileExt: 'txt',
    generate: (rng) => {
      const lines = Array.from({ length: rng.chance(0.8) ? 1 : rng.range(2, 4) }, () => line(rng));
      let bytes = Buffer.from(lines.join(rng.chance(0.9) ? '\n' : '\r\n') + (rng.chance(0.95) ? '\n' : ''), 'utf8');
      if (rng.chance(0.03)) {
        // bytes that are not UTF-8 at all
        const o = rng.int(bytes.length);
        bytes = Buffer.concat([bytes.subarray(0, o), Buffer.from([rng.pick([0xff, 0xc0, 0xed, 0x80, 0xf4])]), bytes.subarray(o)]);
      }
      const chunks: Buffer[] = [];
      if (rng.chance(0.6) || bytes.length < 2) chunks.push(bytes);
      else {
        let prev = 0;
        for (const c of Array.from({ length: rng.range(1, 8) }, () => rng.range(1, bytes.length - 1)).sort((a, b) => a - b)) {
          chunks.push(bytes.subarray(prev, c));
          prev = c;
        }
        chunks.push(bytes.subarray(prev));
      }
      return { chunks };
    },
    run: ({ chunks }) => {
      const splitter = new ByteLineSplitter(JSONL_MAX_LINE_BYTES);
      const reader = new CanonicalLineReader(jsonlContext.defaultTable);
      const rib = checkingRib('jsonl');
      const lines: string[] = [];
      for (const c of chunks) {
        splitter.push(c, (buf, from, to, tooLong) => {
          if (tooLong) return;
          const kind = reader.read(buf, from, to);
          const text = buf.toString('utf8', from, to);
          if (kind !== LINE_OTHER) checkCanonical(kind === LINE_ADD, reader, text);
          lines.push(text);
        });
      }
      for (const l of lines) {
        const text = l.trim();
        if (text === '') continue;
        let r;
        try {
          r = parseJsonLine(text, jsonlContext);
        } catch (err) {
          if (err instanceof Rfc5549Error) {
            checkErrorText(err.message, 'jsonl-error');
            continue;
          }
          throw err;
        }
        if (!r.ok) {
          checkErrorText(r.error, 'jsonl-error');
          continue;
        }
        const u = r.update;
        if (u.op === 'add') rib.add('jsonl#1', u.route);
        else if (u.op === 'withdraw' && (u.table === 0 || u.table === 255 || u.prefix.len > 32)) {
          throw new PropertyViolation('jsonl-withdraw-invalid', `withdraw of ${u.table}:${u.prefix.key} accepted`);
        }
      }
    },
    serialize: (input) => Buffer.concat(input.chunks),
    deserialize: (bytes) => ({ chunks: [bytes] }),
  };
}
