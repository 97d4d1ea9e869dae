// The JSON-lines fast path one step earlier: a canonical add or withdraw line (see
// jsonl-fast.ts) read straight from the socket's bytes, without making the line a string,
// slicing it or building a prefix object. A million-line feed spent about half of the
// daemon's main thread on line strings, slices and their garbage collection; that thread
// shares the machine with the one the kernel writes on.
//
// It accepts only what the string fast path accepts, field for field (test/unit/
// jsonl-fast.test.ts and the jsonl fuzz target check the two agree), and leaves everything
// else to it: any byte out of place and the caller decodes the line and takes the usual path.
import { maskOf, numberToIpv4, type Ipv4Prefix } from '../model/ipv4-prefix.js';
import type { PeerNexthop } from '../rib/route.js';
import { parseLegs } from './jsonl-fast.js';

const bytesOf = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const ADD = bytesOf('{"op":"add","prefix":"');
const WITHDRAW = bytesOf('{"op":"withdraw","prefix":"');
const NEXTHOPS = bytesOf(',"nexthops":[');
const QUOTE = 0x22;
const SLASH = 0x2f;
const DOT = 0x2e;
const ZERO = 0x30;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

export const LINE_OTHER = 0;
export const LINE_ADD = 1;
export const LINE_WITHDRAW = 2;
export type CanonicalKind = typeof LINE_OTHER | typeof LINE_ADD | typeof LINE_WITHDRAW;

/** A prefix read from bytes: its text is made only if someone asks (a refusal names it). */
class ReadPrefix implements Ipv4Prefix {
  addr = 0;
  len = 0;
  get key(): string {
    return `${numberToIpv4(this.addr)}/${this.len}`;
  }
}

function startsWith(buf: Uint8Array, at: number, end: number, lit: Uint8Array): boolean {
  if (end - at < lit.length) return false;
  for (let i = 0; i < lit.length; i++) if (buf[at + i] !== lit[i]) return false;
  return true;
}

/**
 * Reads one connection's canonical lines. `route` and `prefix` are this reader's own and are
 * overwritten by the next line: Rib.add and Rib.withdraw keep neither, and nothing else may
 * be handed them.
 */
export class CanonicalLineReader {
  readonly prefix = new ReadPrefix();
  readonly route: { table: number; prefix: Ipv4Prefix; nexthops: readonly PeerNexthop[] };
  /** the next-hop bytes of the last add and what they parsed to: a feed names few next-hop sets */
  private legBytes = new Uint8Array(0);
  private nexthops: readonly PeerNexthop[] = [];
  /** the value readDecimal read last */
  private decimal = 0;

  constructor(readonly defaultTable: number) {
    this.route = { table: defaultTable, prefix: this.prefix, nexthops: this.nexthops };
  }

  /** The kind of the line buf[from, to) (no newline); LINE_OTHER leaves it to the string path. */
  read(buf: Buffer, from: number, to: number): CanonicalKind {
    if (startsWith(buf, from, to, WITHDRAW)) {
      const at = this.readPrefix(buf, from + WITHDRAW.length, to);
      return at === to - 1 && buf[at] === CLOSE_BRACE ? LINE_WITHDRAW : LINE_OTHER;
    }
    if (!startsWith(buf, from, to, ADD)) return LINE_OTHER;
    let at = this.readPrefix(buf, from + ADD.length, to);
    if (at < 0 || !startsWith(buf, at, to, NEXTHOPS)) return LINE_OTHER;
    at += NEXTHOPS.length;
    if (to - at < 2 || buf[to - 2] !== CLOSE_BRACKET || buf[to - 1] !== CLOSE_BRACE) return LINE_OTHER;
    if (!this.sameLegs(buf, at, to)) {
      // The rare new set: the string path's own reader of next hops, on this line's text.
      if (!isAscii(buf, at, to)) return LINE_OTHER;
      const nexthops = parseLegs(buf.toString('latin1', from, to), at - from);
      if (!nexthops) return LINE_OTHER;
      this.legBytes = Uint8Array.prototype.slice.call(buf, at, to);
      this.nexthops = nexthops;
    }
    this.route.nexthops = this.nexthops;
    return LINE_ADD;
  }

  private sameLegs(buf: Buffer, at: number, to: number): boolean {
    const legs = this.legBytes;
    if (legs.length !== to - at || legs.length === 0) return false;
    for (let i = 0; i < legs.length; i++) if (buf[at + i] !== legs[i]) return false;
    return true;
  }

  /**
   * "a.b.c.d/len" and its closing quote at `at`, as strict as parseIpv4Prefix (no leading
   * zeros, octets to 255, length to 32, host bits zero); the index after the quote, or -1.
   */
  private readPrefix(buf: Buffer, at: number, end: number): number {
    let addr = 0;
    for (let octet = 0; octet < 4; octet++) {
      at = this.readDecimal(buf, at, end, 3, 255);
      if (at < 0) return -1;
      addr = addr * 256 + this.decimal;
      if (at >= end || buf[at] !== (octet < 3 ? DOT : SLASH)) return -1;
      at++;
    }
    at = this.readDecimal(buf, at, end, 2, 32);
    if (at < 0 || at >= end || buf[at] !== QUOTE) return -1;
    const len = this.decimal;
    addr >>>= 0;
    if ((addr & ~maskOf(len)) >>> 0 !== 0) return -1;
    this.prefix.addr = addr;
    this.prefix.len = len;
    return at + 1;
  }

  /**
   * A decimal of 1 to maxDigits digits, no leading zero, at most max, at `at`: the index after
   * it (its value in `decimal`), or -1.
   */
  private readDecimal(buf: Buffer, at: number, end: number, maxDigits: number, max: number): number {
    const start = at;
    let v = 0;
    while (at < end) {
      const d = buf[at]! - ZERO;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
      at++;
    }
    const digits = at - start;
    if (digits === 0 || digits > maxDigits || v > max || (digits > 1 && buf[start] === ZERO)) return -1;
    this.decimal = v;
    return at;
  }
}

function isAscii(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i]! > 0x7e) return false;
  return true;
}
