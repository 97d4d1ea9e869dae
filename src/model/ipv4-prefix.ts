import { Address4 } from 'ip-address';

/** An IPv4 prefix with host bits zero; `key` is its canonical text ("10.1.0.0/24"). */
export interface Ipv4Prefix {
  readonly addr: number; // network address as an unsigned 32-bit integer
  readonly len: number;
  readonly key: string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

export function ipv4ToNumber(text: string): number | undefined {
  if (!Address4.isValid(text) || text.includes('/')) return undefined;
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n >>> 0;
}

export function numberToIpv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function maskOf(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

export function makePrefix(addr: number, len: number): Ipv4Prefix {
  return { addr: addr >>> 0, len, key: `${numberToIpv4(addr)}/${len}` };
}

export function parseIpv4Prefix(text: string): ParseResult<Ipv4Prefix> {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(text);
  if (!m) return { ok: false, error: `"${text}" is not an IPv4 prefix (a.b.c.d/len)` };
  const addr = ipv4ToNumber(m[1]!);
  const len = Number(m[2]);
  if (addr === undefined) return { ok: false, error: `"${text}" has an invalid IPv4 address` };
  if (len > 32) return { ok: false, error: `"${text}" has a prefix length above 32` };
  if ((addr & ~maskOf(len)) >>> 0 !== 0) {
    return { ok: false, error: `"${text}" has host bits set (did you mean ${numberToIpv4(addr & maskOf(len))}/${len}?)` };
  }
  return { ok: true, value: makePrefix(addr, len) };
}
