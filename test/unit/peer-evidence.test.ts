// Peer evidence and the peer table's clean-up: ndp and ra evidence resolve a peer's MAC; a
// removed link forgets its peers; a quiet peer no route names goes after PEER_IDLE_FORGET_MS,
// while one a route names stays however quiet.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { AF_INET6, NUD_FAILED, type KernelNeighbour } from '../../src/kernel/rtnetlink-codec.js';
import type { LinkLocal } from '../../src/model/link-local.js';
import type { Mac } from '../../src/model/mac.js';
import { PEER_IDLE_FORGET_MS, PeerEvidence } from '../../src/peers/peer-evidence.js';
import { PeerTable } from '../../src/peers/peer-table.js';
import { ManualClock } from '../helpers/manual-clock.js';

const H0 = 2;
const H1 = 3;
const NAMES = new Map([[H0, 'h0'], [H1, 'h1']]);
const LL_A = 'fe80::a' as LinkLocal; // not EUI-64: only evidence resolves it
const LL_B = 'fe80::b' as LinkLocal;
const MAC_A = '02:00:00:00:0a:0a' as Mac;

/** NUD_REACHABLE */
const REACHABLE = 0x02;

const ndp = (ifindex: number, ll: string, mac: string, state = REACHABLE): KernelNeighbour => ({
  family: AF_INET6, ifindex, state, flags: 0, dst: Buffer.from(ll === LL_A ? 'fe80000000000000000000000000000a' : 'fe80000000000000000000000000000b', 'hex'),
  lladdr: Buffer.from(mac.replace(/:/g, ''), 'hex'), protocol: 0,
});

function setUp(named: Array<[string, LinkLocal]> = []) {
  const clock = new ManualClock();
  const peers = new PeerTable();
  let changed = 0;
  const rechecked: number[] = [];
  const demand = {
    peersOn: (ifname: string) => new Map(named.filter(([i]) => i === ifname).map(([, ll]) => [ll, 1] as [LinkLocal, number])),
    wantsLearntPeer: () => false,
  };
  const evidence = new PeerEvidence({
    peers, demand, clock, log: pino({ level: 'silent' }),
    managedName: (ifindex) => NAMES.get(ifindex),
    peerChanged: () => changed++,
    recheckNeighbour: (ifindex) => rechecked.push(ifindex),
  });
  return { clock, peers, evidence, changed: () => changed, rechecked };
}

describe('PeerEvidence', () => {
  it('an IPv6 neighbour entry resolves the peer (ndp); a failed one or an unmanaged link says nothing', () => {
    const t = setUp([['h0', LL_A]]);
    t.evidence.noteNeighbour(ndp(99, LL_A, MAC_A));
    t.evidence.noteNeighbour(ndp(H0, LL_A, MAC_A, NUD_FAILED));
    expect(t.peers.resolve('h0', LL_A).resolved).toBe(false);
    t.evidence.noteNeighbour(ndp(H0, LL_A, MAC_A));
    expect(t.peers.resolve('h0', LL_A)).toMatchObject({ resolved: true, mac: MAC_A, evidence: 'ndp' });
    expect(t.changed()).toBe(1); // a route names it: re-plan
  });

  it('a router advertisement is ra evidence, remembered with its time, and re-checks a named peer', () => {
    const t = setUp([['h0', LL_A]]);
    t.evidence.noteRouterAdvert({ ifindex: H0, source: LL_A, sourceMac: MAC_A });
    expect(t.peers.resolve('h0', LL_A)).toMatchObject({ resolved: true, evidence: 'ra' });
    expect(t.evidence.lastRaAt('h0', LL_A)).toBe(t.clock.now());
    expect(t.rechecked).toEqual([H0]);
  });

  it('a removed link forgets its peers, and only its', () => {
    const t = setUp();
    t.evidence.noteNeighbour(ndp(H0, LL_A, MAC_A));
    t.evidence.noteRouterAdvert({ ifindex: H1, source: LL_B, sourceMac: '02:00:00:00:0b:0b' as Mac });
    expect(t.peers.size).toBe(2);
    t.evidence.forgetLink('h1');
    expect(t.peers.list().map((p) => p.interface)).toEqual(['h0']);
    expect(t.evidence.lastRaAt('h1', LL_B)).toBeUndefined();
    expect(t.evidence.stats()).toEqual({ known: 1, advertising: 0, forgotten: 1 });
  });

  it('a quiet peer no route names is forgotten after PEER_IDLE_FORGET_MS; a named one stays; one heard again stays', async () => {
    const t = setUp([['h0', LL_A]]);
    t.evidence.noteNeighbour(ndp(H0, LL_A, MAC_A));
    t.evidence.noteNeighbour(ndp(H1, LL_B, '02:00:00:00:0b:0b'));
    await t.clock.advance(PEER_IDLE_FORGET_MS - 1);
    expect(t.evidence.forgetIdle()).toBe(0);
    await t.clock.advance(2);
    expect(t.evidence.forgetIdle()).toBe(1);
    expect(t.peers.list().map((p) => `${p.linkLocal}%${p.interface}`)).toEqual([`${LL_A}%h0`]);
    // heard again: the clock starts over for it
    t.evidence.noteNeighbour(ndp(H1, LL_B, '02:00:00:00:0b:0b'));
    await t.clock.advance(PEER_IDLE_FORGET_MS / 2);
    expect(t.evidence.forgetIdle()).toBe(0);
    expect(t.peers.size).toBe(2);
  });
});
