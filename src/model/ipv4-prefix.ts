import { excerpt } from '../excerpt.js';
/** An IPv4 prefix with host bits zero; `key` is its canonical text ("10.1.0.0/24"). */
export interface Ipv4Prefix {
  readonly addr: number; // network address as an unsigned 32-bit integer
  readonly len: number;
  readonly key: string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * Dotted-quad IPv4 text to an unsigned 32-bit number, as strict as ip-address's
 * Address4.isValid (four decimal octets, no leading zeros, none above 255). Hand-written:
 * the library's parse cost ~1 us a call, a fifth of the whole JSON-lines path at a
 * million routes; test/unit/model.test.ts checks the two agree.
 */
export function ipv4ToNumber(text: string): number | undefined {
  let n = 0;
  let octets = 0;
  let i = 0;
  const end = text.length;
  while (i < end) {
    const start = i;
    let v = 0;
    while (i < end) {
      const c = text.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      v = v * 10 + c;
      i++;
    }
    const digits = i - start;
    if (digits === 0 || digits > 3 || v > 255 || (digits > 1 && text.charCodeAt(start) === 48)) return undefined;
    n = n * 256 + v;
    octets++;
    if (i === end) break;
    if (text.charCodeAt(i) !== 46 || octets === 4) return undefined;
    i++;
    if (i === end) return undefined;
  }
  return octets === 4 ? n >>> 0 : undefined;
}

export function numberToIpv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** An IPv4 address as the 4 bytes netlink carries (network order). */
export function ipv4ToBytes(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

export function maskOf(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

export function makePrefix(addr: number, len: number): Ipv4Prefix {
  return { addr: addr >>> 0, len, key: `${numberToIpv4(addr)}/${len}` };
}

export function parseIpv4Prefix(text: string): ParseResult<Ipv4Prefix> {
  const slash = text.indexOf('/');
  const lenText = slash < 0 ? '' : text.slice(slash + 1);
  if (slash < 0 || !/^(?:\d|[1-9]\d)$/.test(lenText)) return { ok: false, error: `${excerpt(text)} is not an IPv4 prefix (a.b.c.d/len)` };
  const addrText = text.slice(0, slash);
  const addr = ipv4ToNumber(addrText);
  const len = Number(lenText);
  if (addr === undefined) {
    return { ok: false, error: /^[0-9.]+$/.test(addrText) ? `${excerpt(text)} has an invalid IPv4 address` : `${excerpt(text)} is not an IPv4 prefix (a.b.c.d/len)` };
  }
  if (len > 32) return { ok: false, error: `${excerpt(text)} has a prefix length above 32` };
  if ((addr & ~maskOf(len)) >>> 0 !== 0) {
    return { ok: false, error: `${excerpt(text)} has host bits set (did you mean ${numberToIpv4(addr & maskOf(len))}/${len}?)` };
  }
  // Accepted text is canonical (no leading zeros anywhere), so it is its own key.
  return { ok: true, value: { addr, len, key: text } };
}
