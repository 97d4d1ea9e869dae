// One zebra connection's nexthop objects by id (ids are only valid within one connection),
// with the reverse index member id -> the groups that list it, so an announcement costs O(the
// groups naming it). Groups of groups are refused (the kernel has no nested groups either).
import { MAX_LEGS_CEILING } from '../../rib/route-validation.js';
import { NO_LEGS, type FpmLeg } from './fpm-item.js';

/**
 * Members of one group at most: no route can carry more legs than limits.max-legs ever allows
 * (the kernel leaves longer ones out of its dumps), so a bigger group is refused when it arrives.
 */
export const MAX_GROUP_MEMBERS = MAX_LEGS_CEILING;
/**
 * Nexthop ids one connection may hold. zebra makes one per (interface, peer) and one per ECMP
 * set; a fabric switch needs hundreds, so this leaves room for any real one and bounds memory.
 */
export const MAX_NEXTHOP_IDS = 65_536;

interface NexthopEntry {
  readonly legs?: readonly FpmLeg[];
  readonly group?: readonly number[];
  /** why the object cannot be used (a nested group); its routes stay pending with this */
  readonly refused?: string;
}

type Expansion = { readonly legs: readonly FpmLeg[] } | { readonly missing: string };


/** a count of bookkeeping steps, shared with the session (FpmSession.operations) */
export interface Steps {
  operations: number;
}

export class NexthopTable {
  private readonly entries = new Map<number, NexthopEntry>();
  /** member id -> the groups that list it, whether or not the member has arrived */
  private readonly groupsOf = new Map<number, Set<number>>();

  constructor(private readonly steps: Steps) {}

  get size(): number {
    return this.entries.size;
  }

  has(id: number): boolean {
    return this.entries.has(id);
  }

  /** the groups that list an id as a member */
  groupsListing(id: number): ReadonlySet<number> | undefined {
    return this.groupsOf.get(id);
  }

  /**
   * Stores an announcement: 'unchanged' for a repeat (zebra re-announces unchanged objects;
   * nothing to re-resolve, and no repeat costs O(users)), else whether it was refused (nested).
   */
  set(id: number, legs: readonly FpmLeg[] | undefined, group: readonly number[] | undefined): 'unchanged' | { readonly refused: string | undefined } {
    const old = this.entries.get(id);
    if (old && !old.refused && sameLegs(old.legs, legs) && sameIds(old.group, group)) return 'unchanged';
    let entry: NexthopEntry = { ...(legs ? { legs } : {}), ...(group ? { group } : {}) };
    if (group) {
      const nested = group.find((m) => this.entries.get(m)?.group !== undefined);
      if (nested !== undefined) entry = { refused: `nexthop group ${id} has member ${nested}, itself a group: nested groups are not supported (the kernel has none either)` };
    }
    this.unlinkGroup(id);
    this.entries.set(id, entry);
    if (entry.group) {
      for (const m of entry.group) {
        this.steps.operations++;
        let gs = this.groupsOf.get(m);
        if (!gs) this.groupsOf.set(m, (gs = new Set()));
        gs.add(id);
      }
    }
    return { refused: entry.refused };
  }

  delete(id: number): void {
    this.unlinkGroup(id);
    this.entries.delete(id);
  }

  /** Drops a group's entries from the member index (before it is replaced or deleted). */
  private unlinkGroup(id: number): void {
    const old = this.entries.get(id)?.group;
    if (!old) return;
    for (const m of old) {
      this.steps.operations++;
      const gs = this.groupsOf.get(m);
      if (!gs) continue;
      gs.delete(id);
      if (gs.size === 0) this.groupsOf.delete(m);
    }
  }

  /** The legs of a nexthop id: a leg's own, or a group's members' (one level, no nesting). */
  expand(id: number): Expansion {
    const nh = this.entries.get(id);
    if (!nh) return { missing: missingObject(id) };
    if (nh.refused) return { missing: nh.refused };
    // a single leg's own list, not a copy: expand runs once per route naming the id
    if (!nh.group) return { legs: nh.legs ?? NO_LEGS };
    const out: FpmLeg[] = [];
    for (const member of nh.group) {
      this.steps.operations++;
      const m = this.entries.get(member);
      if (!m) return { missing: `nexthop group ${id} names member ${member}, and ${missingObject(member)}` };
      if (m.group || m.refused) return { missing: `nexthop group ${id} has member ${member}, itself a group: nested groups are not supported (the kernel has none either)` };
      if (m.legs) out.push(...m.legs);
    }
    return { legs: out };
  }

}

function sameLegs(a: readonly FpmLeg[] | undefined, b: readonly FpmLeg[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((l, i) => l.ifindex === b[i]!.ifindex && l.linkLocal === b[i]!.linkLocal);
}

function sameIds(a: readonly number[] | undefined, b: readonly number[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

/** What a user of FRR 8.4 sees with `no zebra nexthop kernel enable` and what to change. */
function missingObject(id: number): string {
  return `zebra sent no nexthop object ${id}: enable zebra's kernel nexthops ("zebra nexthop kernel enable") or use "no fpm use-next-hop-groups"`;
}
