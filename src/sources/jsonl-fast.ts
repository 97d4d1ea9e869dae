// The JSON-lines fast path: the two shapes a feeder sends a million times, written exactly as
// JSON.stringify writes them ({"op":"add","prefix":…,"nexthops":[{"via":…,"dev":…},…]} and
// {"op":"withdraw","prefix":…}), read by position instead of JSON.parse and a walk of the
// object: JSON.parse and the field checks were the daemon's largest cost on the install path.
// Anything else, and anything odd inside (an escape, a control character, a value the model
// parsers refuse, a duplicate next hop), is left to the full parser, so refusals keep their
// words and what is accepted is what the full parser would accept, field for field.
import { parseInterfaceName } from '../model/interface-name.js';
import { parseIpv4Prefix } from '../model/ipv4-prefix.js';
import { parseLinkLocal } from '../model/link-local.js';
import { MAX_LEGS_CEILING } from '../rib/route-validation.js';
import { sortNexthops, type PeerNexthop, type RouteUpdate } from '../rib/route.js';

const ADD = '{"op":"add","prefix":"';
const WITHDRAW = '{"op":"withdraw","prefix":"';
const NEXTHOPS = '","nexthops":[';
const VIA = '{"via":"';
const DEV = '","dev":"';

/** a JSON string's text that decodes to itself: no escape, no control character */
function plain(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x5c) return false;
  }
  return true;
}

/** the text of a string value starting at `from`, up to its closing quote; undefined if not plain */
function stringAt(line: string, from: number): string | undefined {
  const q = line.indexOf('"', from);
  if (q < 0) return undefined;
  const s = line.slice(from, q);
  return plain(s) ? s : undefined;
}

/** The legs text of the previous add and what it parsed to: a feed names few next-hop sets. */
export class FastLineCache {
  legsText = '';
  nexthops: readonly PeerNexthop[] = [];
}

/**
 * The update of a canonical add or withdraw line in the default table, or undefined for the
 * full parser to decide (it then also produces every error).
 */
export function parseCanonicalLine(line: string, defaultTable: number, cache: FastLineCache): RouteUpdate | undefined {
  if (line.startsWith(WITHDRAW)) {
    const text = stringAt(line, WITHDRAW.length);
    if (text === undefined || line.length !== WITHDRAW.length + text.length + 2 || !line.endsWith('"}')) return undefined;
    const prefix = parseIpv4Prefix(text);
    return prefix.ok ? { op: 'withdraw', table: defaultTable, prefix: prefix.value } : undefined;
  }
  if (!line.startsWith(ADD)) return undefined;
  const text = stringAt(line, ADD.length);
  if (text === undefined) return undefined;
  let at = ADD.length + text.length;
  if (!line.startsWith(NEXTHOPS, at)) return undefined;
  at += NEXTHOPS.length;
  const legsText = line.slice(at);
  if (!legsText.endsWith(']}')) return undefined;
  const prefix = parseIpv4Prefix(text);
  if (!prefix.ok) return undefined;
  if (legsText !== cache.legsText) {
    const nexthops = parseLegs(line, at);
    if (!nexthops) return undefined;
    cache.legsText = legsText;
    cache.nexthops = nexthops;
  }
  return { op: 'add', route: { table: defaultTable, prefix: prefix.value, nexthops: cache.nexthops } };
}

/** the next hops of a canonical add from `from` to the line's end ('...]}'), or undefined */
export function parseLegs(line: string, from: number): readonly PeerNexthop[] | undefined {
  const nexthops: PeerNexthop[] = [];
  let at = from;
  for (;;) {
    if (!line.startsWith(VIA, at)) return undefined;
    const viaText = stringAt(line, at + VIA.length);
    if (viaText === undefined) return undefined;
    at += VIA.length + viaText.length;
    if (!line.startsWith(DEV, at)) return undefined;
    const devText = stringAt(line, at + DEV.length);
    if (devText === undefined) return undefined;
    at += DEV.length + devText.length;
    if (!line.startsWith('"}', at)) return undefined;
    at += 2;
    const via = parseLinkLocal(viaText);
    const dev = parseInterfaceName(devText);
    if (!via.ok || !dev.ok) return undefined;
    if (nexthops.some((p) => p.interface === dev.value && p.linkLocal === via.value)) return undefined;
    nexthops.push({ interface: dev.value, linkLocal: via.value });
    if (nexthops.length > MAX_LEGS_CEILING) return undefined;
    if (line.startsWith(']}', at) && at + 2 === line.length) return Object.freeze(sortNexthops(nexthops));
    if (line[at] !== ',') return undefined;
    at++;
  }
}
