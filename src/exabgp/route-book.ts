// What the ExaBGP bridge has announced, per neighbour, and the JSON-lines ops that keep the
// daemon equal to it. Pure: events in, ops out. ExaBGP keeps no RIB for its processes and
// sends no withdraws when a session drops, so this book is the only memory of what each
// neighbour still stands behind; a prefix heard from several neighbours is one ECMP route.
import type { LinkLocal } from '../model/link-local.js';
import { peerKey } from '../model/peer-key.js';
import type { ExabgpEvent, NeighbourId } from './message.js';

export interface JsonlNexthop {
  readonly via: string;
  readonly dev: string;
}

/** The daemon's JSON-lines ops (README "JSON-lines source"). */
export type JsonlOp =
  | { readonly op: 'add'; readonly prefix: string; readonly nexthops: readonly JsonlNexthop[]; readonly table?: number }
  | { readonly op: 'withdraw'; readonly prefix: string; readonly table?: number }
  | { readonly op: 'sync-begin' }
  | { readonly op: 'sync-end' };

export type InterfaceAnswer = { ok: true; value: string } | { ok: false; error: string };

export interface RouteBookOptions {
  /** the interface a neighbour's routes leave by */
  readonly interfaceOf: (n: NeighbourId) => InterfaceAnswer;
  /** routes held over all neighbours; beyond, new ones are refused and counted */
  readonly maxRoutes: number;
  readonly maxNeighbours: number;
  /** `table` on every op, or the daemon's default table when undefined */
  readonly table?: number;
}

/** The daemon takes at most this many next hops on a line (jsonl-parse.ts). */
const MAX_NEXTHOPS = 256;

export interface BookCounters {
  messages: number;
  invalid: number;
  ignored: Record<string, number>;
  otherFamilies: number;
  announced: number;
  withdrawn: number;
  /** announces we could not turn into a route, by reason */
  unusable: Record<string, number>;
  neighbourDowns: number;
  refused: number;
}

/** A note for the operator (stderr); `key` groups repeats for rate limiting. */
export interface BookNote {
  readonly key: string;
  readonly text: string;
}

interface NeighbourRoutes {
  readonly id: NeighbourId;
  /** prefix -> path id -> next hops */
  readonly routes: Map<string, Map<string, readonly JsonlNexthop[]>>;
}

const neighbourKey = (n: NeighbourId): string => `${n.local} ${n.peer}`;
const nexthopKey = (n: JsonlNexthop): string => peerKey(n.dev, n.via);

export class RouteBook {
  private readonly neighbours = new Map<string, NeighbourRoutes>();
  /** prefix -> what the daemon was last told (a canonical next-hop signature) */
  private readonly sent = new Map<string, { nexthops: readonly JsonlNexthop[]; signature: string }>();
  private held = 0;
  readonly counters: BookCounters = {
    messages: 0, invalid: 0, ignored: Object.create(null) as Record<string, number>, otherFamilies: 0, announced: 0, withdrawn: 0,
    unusable: Object.create(null) as Record<string, number>, neighbourDowns: 0, refused: 0,
  };
  readonly notes: BookNote[] = [];

  constructor(private readonly opts: RouteBookOptions) {}

  get routesHeld(): number {
    return this.held;
  }

  get prefixesSent(): number {
    return this.sent.size;
  }

  /** Applies one message; returns the ops that bring the daemon up to date. */
  apply(ev: ExabgpEvent): JsonlOp[] {
    this.counters.messages++;
    switch (ev.kind) {
      case 'invalid':
        this.counters.invalid++;
        this.note('invalid', `ignored a message: ${ev.error}`);
        return [];
      case 'ignored':
        this.count(this.counters.ignored, ev.type);
        return [];
      case 'eor':
        return [];
      case 'shutdown':
        return this.withdrawAll();
      case 'state':
        // "down" ends the session; "connected"/"up" start one, which will re-announce all
        // it has: what the neighbour held before cannot be trusted across a new session
        if (ev.state === 'down' || ev.state === 'connected') {
          const had = this.neighbours.get(neighbourKey(ev.neighbour));
          if (ev.state === 'down') this.counters.neighbourDowns++;
          if (had && had.routes.size > 0) this.note(`down ${neighbourKey(ev.neighbour)}`, `neighbour ${ev.neighbour.peer} ${ev.state}${ev.reason ? ` (${ev.reason})` : ''}: withdrawing its ${had.routes.size} prefixes`);
          return this.dropNeighbour(neighbourKey(ev.neighbour));
        }
        return [];
      case 'update':
        return this.applyUpdate(ev);
    }
  }

  /** Everything sent, inside sync-begin/sync-end: a daemon (re)connected gets the full state. */
  replay(): JsonlOp[] {
    const ops: JsonlOp[] = [{ op: 'sync-begin' }];
    for (const [prefix, s] of this.sent) ops.push(this.addOp(prefix, s.nexthops));
    ops.push({ op: 'sync-end' });
    return ops;
  }

  /** What the daemon holds from us, as adds (a first connection: no sync markers). */
  current(): JsonlOp[] {
    return [...this.sent].map(([prefix, s]) => this.addOp(prefix, s.nexthops));
  }

  /** ExaBGP is gone (shutdown, stdin closed): every session with it is gone too. */
  withdrawAll(): JsonlOp[] {
    const touched = new Set<string>();
    for (const n of this.neighbours.values()) for (const p of n.routes.keys()) touched.add(p);
    this.neighbours.clear();
    this.held = 0;
    return this.sync(touched);
  }

  private dropNeighbour(key: string): JsonlOp[] {
    const n = this.neighbours.get(key);
    if (!n) return [];
    this.neighbours.delete(key);
    for (const paths of n.routes.values()) this.held -= paths.size;
    return this.sync(new Set(n.routes.keys()));
  }

  private applyUpdate(ev: Extract<ExabgpEvent, { kind: 'update' }>): JsonlOp[] {
    if (ev.otherFamilies.length > 0) this.counters.otherFamilies++;
    for (const p of ev.problems) this.note('problem', `neighbour ${ev.neighbour.peer}: ${p}`);
    if (ev.problems.length > 0) this.counters.invalid++;
    const key = neighbourKey(ev.neighbour);
    let n = this.neighbours.get(key);
    const touched = new Set<string>();
    // withdrawn first: an UPDATE listing a prefix in both means it is announced (RFC 7606)
    for (const w of ev.withdrawn) {
      this.counters.withdrawn++;
      if (n && this.remove(n, w.prefix, w.pathId)) touched.add(w.prefix);
    }
    for (const u of ev.unusable) {
      this.unusable(u.reason, `neighbour ${ev.neighbour.peer}: ${u.prefix}: ${u.detail}`);
      if (n && this.remove(n, u.prefix, u.pathId)) touched.add(u.prefix); // the new path replaces the old
    }
    if (ev.announced.length > 0) {
      const dev = this.opts.interfaceOf(ev.neighbour);
      if (!dev.ok) {
        for (const a of ev.announced) {
          this.unusable('no interface for the neighbour', `neighbour ${ev.neighbour.peer}: ${a.prefix}: ${dev.error}`);
          if (n && this.remove(n, a.prefix, a.pathId)) touched.add(a.prefix);
        }
      } else {
        if (!n) {
          if (this.neighbours.size >= this.opts.maxNeighbours) {
            this.counters.refused += ev.announced.length;
            this.note('neighbours', `neighbour ${ev.neighbour.peer}: more than ${this.opts.maxNeighbours} neighbours; its routes are refused`);
            return this.sync(touched);
          }
          n = { id: ev.neighbour, routes: new Map() };
          this.neighbours.set(key, n);
        }
        for (const a of ev.announced) {
          this.counters.announced++;
          if (this.put(n, a.prefix, a.pathId, a.nexthops.map((via: LinkLocal) => ({ via, dev: dev.value })))) touched.add(a.prefix);
        }
      }
    }
    return this.sync(touched);
  }

  private put(n: NeighbourRoutes, prefix: string, pathId: string, nexthops: JsonlNexthop[]): boolean {
    let paths = n.routes.get(prefix);
    if (!paths?.has(pathId)) {
      if (this.held >= this.opts.maxRoutes) {
        this.counters.refused++;
        this.note('max-routes', `neighbour ${n.id.peer}: ${prefix} refused: ${this.opts.maxRoutes} routes held, the most the bridge keeps`);
        return false;
      }
      this.held++;
    }
    if (!paths) n.routes.set(prefix, (paths = new Map<string, readonly JsonlNexthop[]>()));
    paths.set(pathId, nexthops);
    return true;
  }

  private remove(n: NeighbourRoutes, prefix: string, pathId: string): boolean {
    const paths = n.routes.get(prefix);
    if (!paths?.delete(pathId)) return false;
    this.held--;
    if (paths.size === 0) n.routes.delete(prefix);
    return true;
  }

  /** Brings each touched prefix's line in the daemon to the union of what neighbours hold. */
  private sync(touched: Set<string>): JsonlOp[] {
    const ops: JsonlOp[] = [];
    for (const prefix of touched) {
      const all = new Map<string, JsonlNexthop>();
      for (const n of this.neighbours.values()) {
        for (const nhs of n.routes.get(prefix)?.values() ?? []) for (const nh of nhs) all.set(nexthopKey(nh), nh);
      }
      const keys = [...all.keys()].sort();
      if (keys.length > MAX_NEXTHOPS) {
        this.note('nexthops', `${prefix}: ${keys.length} next hops, the first ${MAX_NEXTHOPS} are used`);
        keys.length = MAX_NEXTHOPS;
      }
      const signature = keys.join(' ');
      const before = this.sent.get(prefix);
      if (keys.length === 0) {
        if (before) {
          this.sent.delete(prefix);
          ops.push(this.opts.table === undefined ? { op: 'withdraw', prefix } : { op: 'withdraw', prefix, table: this.opts.table });
        }
        continue;
      }
      if (before?.signature === signature) continue; // an attribute change (MED, …): same route for the kernel
      const nexthops = keys.map((k) => all.get(k)!);
      this.sent.set(prefix, { nexthops, signature });
      ops.push(this.addOp(prefix, nexthops));
    }
    return ops;
  }

  private addOp(prefix: string, nexthops: readonly JsonlNexthop[]): JsonlOp {
    return this.opts.table === undefined ? { op: 'add', prefix, nexthops } : { op: 'add', prefix, nexthops, table: this.opts.table };
  }

  private unusable(reason: string, text: string): void {
    this.count(this.counters.unusable, reason);
    this.note(`unusable ${reason}`, text);
  }

  /** Counts by name (null-prototype records: "__proto__" is just a name); hostile input
   * could make names without end, so 32 and then "other". */
  private count(into: Record<string, number>, name: string): void {
    const k = Object.hasOwn(into, name) || Object.keys(into).length < 32 ? name : 'other';
    into[k] = (into[k] ?? 0) + 1;
  }

  private note(key: string, text: string): void {
    // the I/O shell drains and rate-limits these; a bound keeps a flood from piling up
    if (this.notes.length < 1000) this.notes.push({ key, text });
  }
}
