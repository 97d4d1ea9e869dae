// Which interface a neighbour's routes leave by. ExaBGP 4.2 names a neighbour by bare
// addresses (it refuses "fe80::1%h0"), so the interface comes from us: `--neighbor ADDR=IFNAME`
// where ADDR is the neighbour's peer address or its `local-address`, and otherwise the one
// interface that holds the neighbour's `local-address` (our own link-local on that link).
import { parseInterfaceName } from '../model/interface-name.js';
import { parseLinkLocal } from '../model/link-local.js';
import type { NeighbourId } from './message.js';
import type { InterfaceAnswer } from './route-book.js';
import { excerpt } from './message.js';

export type NeighbourMapping = ReadonlyMap<string, string>;

/** Canonical text of an address (the same link-local can be written many ways). */
function canonical(addr: string): string {
  const ll = parseLinkLocal(addr);
  return ll.ok ? ll.value : addr.toLowerCase();
}

/** `--neighbor` values ("fe80::ff:fe00:101=h0"; a zone on the address is allowed and dropped). */
export function parseNeighbourArgs(values: readonly string[]): { ok: true; value: NeighbourMapping } | { ok: false; error: string } {
  const map = new Map<string, string>();
  for (const v of values) {
    const eq = v.lastIndexOf('=');
    if (eq <= 0) return { ok: false, error: `--neighbor: expected ADDRESS=IFNAME, got ${excerpt(v)}` };
    const addr = v.slice(0, eq).split('%')[0]!;
    const dev = parseInterfaceName(v.slice(eq + 1));
    if (!dev.ok) return { ok: false, error: `--neighbor ${excerpt(v)}: ${dev.error}` };
    if (!/^[0-9a-fA-F:.]{2,45}$/.test(addr)) return { ok: false, error: `--neighbor: ${excerpt(addr)} is not an IP address` };
    const key = canonical(addr);
    const before = map.get(key);
    if (before !== undefined && before !== dev.value) return { ok: false, error: `--neighbor: ${addr} is given twice (${before} and ${dev.value})` };
    map.set(key, dev.value);
  }
  return { ok: true, value: map };
}

/**
 * The interface for a neighbour: the mapping by peer address, then by local address, then
 * the interfaces holding the local address (`holders`, read from the system by the caller).
 */
export function interfaceFor(n: NeighbourId, mapping: NeighbourMapping, holders: (localAddress: string) => readonly string[]): InterfaceAnswer {
  const byPeer = mapping.get(canonical(n.peer));
  if (byPeer !== undefined) return { ok: true, value: byPeer };
  const byLocal = mapping.get(canonical(n.local));
  if (byLocal !== undefined) return { ok: true, value: byLocal };
  const local = parseLinkLocal(n.local);
  if (!local.ok) return { ok: false, error: `no --neighbor for ${excerpt(n.peer)}, and its local-address ${excerpt(n.local)} is no link-local to find the interface by (give --neighbor ${n.peer}=IFNAME)` };
  const found = holders(local.value);
  if (found.length === 1) return { ok: true, value: found[0]! };
  if (found.length === 0) return { ok: false, error: `no --neighbor for ${excerpt(n.peer)}, and no interface holds its local-address ${local.value} (give --neighbor ${n.peer}=IFNAME)` };
  return { ok: false, error: `no --neighbor for ${excerpt(n.peer)}, and its local-address ${local.value} is on ${found.slice(0, 4).join(', ')} (give --neighbor ${n.peer}=IFNAME)` };
}
