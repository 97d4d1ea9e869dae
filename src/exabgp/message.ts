// ExaBGP 4.2's JSON API output (`encoder json`, `receive { parsed; update; }
// neighbor-changes;`), pure: one line in, one typed event out. Only what a route needs is
// read: state changes, IPv4 unicast announces and withdraws, the shutdown notification.
// ExaBGP builds this JSON by string formatting, so every field is checked, never trusted.
import { parseIpv4Prefix } from '../model/ipv4-prefix.js';
import { parseLinkLocal, type LinkLocal } from '../model/link-local.js';

/** A BGP session as ExaBGP names it: our address and the peer's (no zone in 4.2). */
export interface NeighbourId {
  readonly local: string;
  readonly peer: string;
}

interface Announced {
  readonly prefix: string;
  /** add-path path identifier ("" without add-path) */
  readonly pathId: string;
  /** the link-local next hops, normalised: duplicates gone, globals and "::" dropped */
  readonly nexthops: readonly LinkLocal[];
}

interface Unusable {
  readonly prefix: string;
  readonly pathId: string;
  /** a fixed category, for counting */
  readonly reason: string;
  /** the values, bounded and escaped, for the log */
  readonly detail: string;
}

export type ExabgpEvent =
  | { readonly kind: 'state'; readonly neighbour: NeighbourId; readonly state: string; readonly reason?: string }
  | {
      readonly kind: 'update';
      readonly neighbour: NeighbourId;
      readonly announced: readonly Announced[];
      /** announced but with no IPv6 link-local next hop: an implicit withdraw for us */
      readonly unusable: readonly Unusable[];
      readonly withdrawn: readonly { readonly prefix: string; readonly pathId: string }[];
      /** families other than "ipv4 unicast", by name */
      readonly otherFamilies: readonly string[];
      /** prefixes or entries that could not be read, with why */
      readonly problems: readonly string[];
    }
  | { readonly kind: 'eor'; readonly neighbour: NeighbourId }
  | { readonly kind: 'shutdown' }
  /** a well-formed message we have no use for (keepalive, open, notification, …) */
  | { readonly kind: 'ignored'; readonly type: string }
  | { readonly kind: 'invalid'; readonly error: string };

export interface MessageLimits {
  /** nesting of arrays and objects; ExaBGP's deepest message is about 7 */
  readonly maxDepth: number;
}

export const DEFAULT_MESSAGE_LIMITS: MessageLimits = { maxDepth: 32 };

const FAMILY = 'ipv4 unicast';
const NOT_LINK_LOCAL = 'next hop not an IPv6 link-local';
const EXCERPT = 80;

/** A bounded, escaped excerpt of a hostile value for an error message. */
export function excerpt(v: unknown): string {
  let s: string;
  try {
    // String() only for a function or symbol, the values JSON.stringify leaves undefined
    // eslint-disable-next-line @typescript-eslint/no-base-to-string
    s = v === undefined ? 'missing' : JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > EXCERPT ? `${s.slice(0, EXCERPT)}…(${s.length} chars)` : s;
}

/**
 * True when the text nests arrays/objects deeper than max. Checked before JSON.parse so a
 * line of a million "[" costs one scan, not a parse.
 */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      if (++depth > max) return true;
    } else if (c === 93 || c === 125) depth--;
  }
  return false;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

function neighbourOf(msg: Obj): NeighbourId | string {
  const n = msg.neighbor;
  if (!isObj(n)) return `neighbor: expected an object, got ${excerpt(n)}`;
  const a = n.address;
  if (!isObj(a) || typeof a.local !== 'string' || typeof a.peer !== 'string' || a.peer.length > 64 || a.local.length > 64) {
    return `neighbor.address: expected {"local","peer"} address strings, got ${excerpt(a)}`;
  }
  return { local: a.local, peer: a.peer };
}

export function parseExabgpLine(text: string, limits: MessageLimits = DEFAULT_MESSAGE_LIMITS): ExabgpEvent {
  if (jsonDepthExceeds(text, limits.maxDepth)) return { kind: 'invalid', error: `message nests deeper than ${limits.maxDepth}` };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    // ExaBGP's text replies ("done", "error") and its text encoder land here too
    return { kind: 'invalid', error: `not JSON (${(err as Error).message.slice(0, EXCERPT)}): ${excerpt(text)}` };
  }
  if (!isObj(doc)) return { kind: 'invalid', error: `expected a JSON object, got ${excerpt(doc)}` };
  const type = doc.type;
  if (typeof type !== 'string') return { kind: 'invalid', error: `type: expected a string, got ${excerpt(type)}` };
  switch (type) {
    case 'notification':
      // ExaBGP's own exit has no neighbour; a BGP NOTIFICATION from a peer has one and is
      // followed by a state "down" message, which is what withdraws
      if (doc.notification === 'shutdown' && doc.neighbor === undefined) return { kind: 'shutdown' };
      return { kind: 'ignored', type };
    case 'state': {
      const n = neighbourOf(doc);
      if (typeof n === 'string') return { kind: 'invalid', error: n };
      const s = (doc.neighbor as Obj).state;
      if (typeof s !== 'string' || s.length > 32) return { kind: 'invalid', error: `neighbor.state: expected a short string, got ${excerpt(s)}` };
      const reason = (doc.neighbor as Obj).reason;
      return typeof reason === 'string' ? { kind: 'state', neighbour: n, state: s, reason: reason.slice(0, 200) } : { kind: 'state', neighbour: n, state: s };
    }
    case 'update':
      return parseUpdate(doc);
    default:
      return { kind: 'ignored', type: type.slice(0, 32) };
  }
}

function parseUpdate(doc: Obj): ExabgpEvent {
  const n = neighbourOf(doc);
  if (typeof n === 'string') return { kind: 'invalid', error: n };
  const nb = doc.neighbor as Obj;
  // `receive { update; }` gives only received updates; "send" would be our own
  if (nb.direction !== undefined && nb.direction !== 'receive') return { kind: 'ignored', type: `update ${excerpt(nb.direction)}` };
  const message = nb.message;
  if (!isObj(message)) return { kind: 'invalid', error: `neighbor.message: expected an object, got ${excerpt(message)}` };
  if (message.eor !== undefined) return { kind: 'eor', neighbour: n };
  const update = message.update;
  if (!isObj(update)) return { kind: 'invalid', error: `neighbor.message.update: expected an object, got ${excerpt(update)}` };

  const problems: string[] = [];
  const otherFamilies = new Set<string>();
  const announced: Announced[] = [];
  const unusable: Unusable[] = [];
  const withdrawn: { prefix: string; pathId: string }[] = [];

  if (update.announce !== undefined) {
    if (!isObj(update.announce)) problems.push(`announce: expected an object, got ${excerpt(update.announce)}`);
    else {
      for (const [family, byNexthop] of Object.entries(update.announce)) {
        if (family !== FAMILY) {
          otherFamilies.add(family.slice(0, 40));
          continue;
        }
        if (!isObj(byNexthop)) {
          problems.push(`announce.${FAMILY}: expected an object of next hop -> NLRI list, got ${excerpt(byNexthop)}`);
          continue;
        }
        collectAnnounces(byNexthop, announced, unusable, problems);
      }
    }
  }
  if (update.withdraw !== undefined) {
    if (!isObj(update.withdraw)) problems.push(`withdraw: expected an object, got ${excerpt(update.withdraw)}`);
    else {
      for (const [family, list] of Object.entries(update.withdraw)) {
        if (family !== FAMILY) {
          otherFamilies.add(family.slice(0, 40));
          continue;
        }
        if (!Array.isArray(list)) {
          problems.push(`withdraw.${FAMILY}: expected an NLRI list, got ${excerpt(list)}`);
          continue;
        }
        const seen = new Set<string>();
        for (const entry of list) {
          const r = readNlri(entry);
          if (typeof r === 'string') {
            problems.push(`withdraw.${FAMILY}: ${r}`);
            continue;
          }
          const k = `${r.prefix}#${r.pathId}`;
          if (seen.has(k)) continue;
          seen.add(k);
          withdrawn.push(r);
        }
      }
    }
  }
  return { kind: 'update', neighbour: n, announced, unusable, withdrawn, otherFamilies: [...otherFamilies], problems };
}

/** An NLRI entry: `{ "nlri": "10.0.0.0/24", "path-information": "0.0.0.1" }`, or the bare
 * prefix string of `exabgp.api.compact`. */
function readNlri(entry: unknown): { prefix: string; pathId: string } | string {
  let text: unknown = entry;
  let pathId = '';
  if (isObj(entry)) {
    text = entry.nlri;
    const p = entry['path-information'];
    if (p !== undefined) {
      if (typeof p !== 'string' || p.length > 15) return `path-information: expected a dotted id, got ${excerpt(p)}`;
      pathId = p;
    }
  }
  if (typeof text !== 'string') return `nlri: expected a prefix string, got ${excerpt(text)}`;
  const prefix = parseIpv4Prefix(text);
  if (!prefix.ok) return `nlri: ${prefix.error.slice(0, 120)}`;
  return { prefix: prefix.value.key, pathId };
}

/**
 * ExaBGP 4.2 splits a 32-byte MP_REACH next hop (global + link-local) into two next hops and
 * lists every NLRI once under each: `{"2001:db8::1": [P], "fe80::1": [P]}`, or twice under one
 * key when both halves are the same link-local (FRR unnumbered sends LL twice), or under "::"
 * and the link-local (GoBGP's and others' `[::, LL]`). So next hops are gathered per prefix
 * across keys, and the link-locals among them kept, each once.
 */
function collectAnnounces(byNexthop: Obj, announced: Announced[], unusable: Unusable[], problems: string[]): void {
  const perPrefix = new Map<string, { prefix: string; pathId: string; lls: LinkLocal[]; others: string[] }>();
  for (const [nexthopText, list] of Object.entries(byNexthop)) {
    if (!Array.isArray(list)) {
      problems.push(`announce.${FAMILY}.${excerpt(nexthopText)}: expected an NLRI list, got ${excerpt(list)}`);
      continue;
    }
    // a zone ("fe80::1%h0") is not in 4.2's output, but the address part is all we need
    const bare = nexthopText.split('%')[0]!;
    const ll = bare.length <= 64 ? parseLinkLocal(bare) : undefined;
    for (const entry of list) {
      const r = readNlri(entry);
      if (typeof r === 'string') {
        problems.push(`announce.${FAMILY}: ${r}`);
        continue;
      }
      const k = `${r.prefix}#${r.pathId}`;
      let p = perPrefix.get(k);
      if (!p) perPrefix.set(k, (p = { ...r, lls: [], others: [] }));
      if (ll?.ok) {
        if (!p.lls.includes(ll.value)) p.lls.push(ll.value);
      } else if (!p.others.includes(nexthopText)) p.others.push(nexthopText);
    }
  }
  for (const p of perPrefix.values()) {
    if (p.lls.length > 0) announced.push({ prefix: p.prefix, pathId: p.pathId, nexthops: p.lls });
    else unusable.push({ prefix: p.prefix, pathId: p.pathId, reason: NOT_LINK_LOCAL, detail: `next hop ${p.others.slice(0, 4).map(excerpt).join(', ')} is not an IPv6 link-local` });
  }
}
