// What the resolver found wrong around us, kept across passes so that each episode is
// logged once: zebra's placeholder with a MAC other than ours (FRR issue 2205), and
// interface-only next hops where several peers were learnt (classic FPM encoding).
// `rfc5549d peers` and `routes` read the current state from here.
import type { LinkLocal } from '../model/link-local.js';
import { numberToIpv4 } from '../model/ipv4-prefix.js';
import type { Logger } from '../log.js';
import { MAX_NAMED_PEERS, type Resolver, type ZebraPlaceholderWrong } from './resolver.js';

/** Keyed findings scoped by interface; returns what began and what ended. */
class Episodes<T> {
  private readonly current = new Map<string, { scope: string; value: T }>();

  /**
   * `decided`: scopes the pass judged (their findings are replaced by `found`); on a `full`
   * pass scopes it did not even look at (no route uses them now) are dropped too. Scopes
   * looked at but not judged (link down) keep theirs: a link flap is not a new episode.
   */
  update(found: ReadonlyMap<string, { scope: string; value: T }>, decided: ReadonlySet<string>, looked: ReadonlySet<string>, full: boolean): { started: T[]; ended: T[] } {
    const started: T[] = [];
    const ended: T[] = [];
    for (const [k, e] of this.current) {
      if (found.has(k)) continue;
      if (decided.has(e.scope) || (full && !looked.has(e.scope))) {
        this.current.delete(k);
        ended.push(e.value);
      }
    }
    for (const [k, e] of found) {
      if (!this.current.has(k)) started.push(e.value);
      this.current.set(k, e);
    }
    return { started, ended };
  }

  values(): T[] {
    return [...this.current.values()].map((e) => e.value);
  }
}

export interface AmbiguousInterface {
  readonly ifname: string;
  readonly peers: readonly LinkLocal[];
}

export class ResolverFindings {
  private readonly zebra = new Episodes<ZebraPlaceholderWrong>();
  private readonly ambiguity = new Episodes<AmbiguousInterface>();

  constructor(private readonly log: Logger) {}

  /** After each pass: log what began (warn) and what ended (info). */
  notePass(resolver: Resolver, full: boolean): void {
    const z = new Map(resolver.zebraWrong.map((w) => [`${w.ifname}|${w.gateway}|${w.zebraMac}|${w.ourMac}`, { scope: w.ifname, value: w }]));
    const zr = this.zebra.update(z, resolver.decided, resolver.looked, full);
    for (const w of zr.started) {
      this.log.warn({
        event: 'zebraPlaceholderWrong', ifname: w.ifname, gateway: numberToIpv4(w.gateway), zebraMac: w.zebraMac, peer: w.peer, mac: w.ourMac, evidence: w.evidence,
        ...(w.ourGateway !== undefined ? { ourGateway: numberToIpv4(w.ourGateway) } : {}),
      }, `zebra's placeholder ${numberToIpv4(w.gateway)} on ${w.ifname} has ${w.zebraMac}, but peer ${w.peer} is ${w.ourMac} (${w.evidence}): zebra's own routes via it go to the wrong MAC (FRR issue 2205); ours use ${w.ourGateway === undefined ? 'another address' : numberToIpv4(w.ourGateway)}`);
    }
    for (const w of zr.ended) this.log.info({ event: 'zebraPlaceholderAgreed', ifname: w.ifname, gateway: numberToIpv4(w.gateway) }, "zebra's placeholder no longer disagrees with us");
    const a = new Map([...resolver.ambiguous].map(([ifname, peers]) => [ifname, { scope: ifname, value: { ifname, peers } }]));
    const ar = this.ambiguity.update(a, resolver.decided, resolver.looked, full);
    for (const x of ar.started) {
      this.log.warn({ event: 'learntPeerAmbiguous', ifname: x.ifname, count: x.peers.length, peers: x.peers.slice(0, MAX_NAMED_PEERS) },
        `routes naming only ${x.ifname} (zebra's classic FPM encoding) stay pending: ${x.peers.length} peers were learnt there and the route does not say which; use nexthop-group mode (fpm use-next-hop-groups)`);
    }
    for (const x of ar.ended) this.log.info({ event: 'learntPeerUnambiguous', ifname: x.ifname }, 'one peer learnt again where routes name only the interface');
  }

  /** zebra's disagreeing placeholder for a peer, if there is one now */
  zebraPlaceholderFor(ifname: string, peer: LinkLocal): ZebraPlaceholderWrong | undefined {
    return this.zebra.values().find((w) => w.ifname === ifname && w.peer === peer);
  }

  ambiguousOn(ifname: string): readonly LinkLocal[] | undefined {
    return this.ambiguity.values().find((x) => x.ifname === ifname)?.peers;
  }
}
