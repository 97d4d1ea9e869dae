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

// Decoded FPM routes name the same few peers too, and formatting through ip-address (BigInt
// arithmetic) cost 25 us a route on the RTA_VIA path: the last answer, then a bounded map.
const lastFormatted = { bytes: new Uint8Array(16), text: '' as LinkLocal, set: false };
const formatCache = new Map<string, LinkLocal>();

/** The address in the 16 bytes at `at` (the whole of `bytes` by default); the last one is answered without a copy. */
export function linkLocalFromBytes(bytes: Uint8Array, at = 0): LinkLocal {
  const last = lastFormatted;
  if (last.set && (at > 0 ? bytes.length >= at + 16 : bytes.length === 16)) {
    let same = true;
    for (let i = 0; i < 16; i++) {
      if (bytes[at + i] !== last.bytes[i]) {
        same = false;
        break;
      }
    }
    if (same) return last.text;
  }
  if (at > 0) bytes = bytes.subarray(at, at + 16);
  const key = String.fromCharCode(...bytes);
  let text = formatCache.get(key);
  if (text === undefined) {
    text = Address6.fromByteArray(Array.from(bytes)).correctForm() as LinkLocal;
    if (formatCache.size >= PARSE_CACHE_MAX) formatCache.clear();
    formatCache.set(key, text);
  }
  if (bytes.length === 16) {
    last.bytes.set(bytes);
    last.text = text;
    last.set = true;
  }
  return text;
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
