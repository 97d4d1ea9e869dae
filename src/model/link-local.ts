import { Address6 } from 'ip-address';
import type { ParseResult } from './ipv4-prefix.js';
import { excerpt } from '../excerpt.js';

/** An IPv6 link-local address (fe80::/10) in canonical compressed form. */
export type LinkLocal = string & { readonly __brand: 'LinkLocal' };

// A feed names the same few peers in every line, and ip-address parsing costs ~7 us a call
// (a third of the JSON-lines path at a million routes): remember recent answers.
const PARSE_CACHE_MAX = 4096;
const parseCache = new Map<string, ParseResult<LinkLocal>>();

export function parseLinkLocal(text: string): ParseResult<LinkLocal> {
  const cached = parseCache.get(text);
  if (cached) return cached;
  const result = parseLinkLocalUncached(text);
  if (parseCache.size >= PARSE_CACHE_MAX) parseCache.clear();
  parseCache.set(text, result);
  return result;
}

function parseLinkLocalUncached(text: string): ParseResult<LinkLocal> {
  if (text.includes('%')) return { ok: false, error: `${excerpt(text)} carries a zone; name the interface in "dev" instead` };
  if (!Address6.isValid(text) || text.includes('/')) return { ok: false, error: `${excerpt(text)} is not an IPv6 address` };
  const a = new Address6(text);
  const bytes = Buffer.from(a.toUnsignedByteArray().slice(-16).map(Number));
  const full = Buffer.alloc(16);
  bytes.copy(full, 16 - bytes.length);
  if (full[0] !== 0xfe || (full[1]! & 0xc0) !== 0x80) {
    return { ok: false, error: `${excerpt(text)} is not an IPv6 link-local address (fe80::/10)` };
  }
  return { ok: true, value: linkLocalFromBytes(full) };
}

export function linkLocalFromBytes(bytes: Uint8Array): LinkLocal {
  return Address6.fromByteArray(Array.from(bytes)).correctForm() as LinkLocal;
}

export function linkLocalToBytes(ll: LinkLocal): Buffer {
  const arr = new Address6(ll).toUnsignedByteArray().map(Number);
  const out = Buffer.alloc(16);
  Buffer.from(arr).copy(out, 16 - arr.length);
  return out;
}

export function isLinkLocalBytes(bytes: Uint8Array): boolean {
  return bytes.length === 16 && bytes[0] === 0xfe && (bytes[1]! & 0xc0) === 0x80;
}
