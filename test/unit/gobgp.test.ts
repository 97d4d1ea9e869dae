// The GoBGP source: protobuf decoding (bytes encoded with our own message definitions, since
// the captured fixtures are the CLI's JSON), the pure path translation against what Debian's
// gobgpd 3.10 showed in the lab (test/fixtures/gobgp), and the source's generations against
// a fake gobgpd gRPC server on loopback (no root needed).
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, configFromDocument } from '../../src/config/config.js';
import { Rib } from '../../src/rib/rib.js';
import {
  decodeListPathResponse, decodeListPeerResponse, decodeWatchEventResponse, encodeListPathResponse, encodeListPeerResponse, encodePeerEvent,
  encodeTableEvent, GobgpDecodeError,
} from '../../src/sources/gobgp/gobgp-api.js';
import { linkLocalNexthop, PeerIndex, translatePath, type GobgpPath, type GobgpPeer } from '../../src/sources/gobgp/gobgp-path.js';
import { GobgpSource } from '../../src/sources/gobgp/gobgp-source.js';
import { FakeGobgpd } from '../helpers/fake-gobgpd.js';

const LL = 'fe80::ff:fe00:101';
const TABLE = 1000;
const fixture = (name: string): string => readFileSync(new URL(`../fixtures/gobgp/${name}`, import.meta.url), 'utf8');

// --- the CLI's JSON (gobgp -j) in the source's shape ---
interface CliPath { nlri: { prefix: string }; best: boolean; withdrawal?: boolean; 'neighbor-ip': string; attrs: { type: number; nexthop?: string; afi?: number; safi?: number }[] }
interface CliPeer { conf: { neighbor_interface?: string; neighbor_address?: string }; state: { neighbor_address?: string; session_state?: number } }
const cliPath = (p: CliPath): GobgpPath => {
  const mp = p.attrs.find((a) => a.type === 14);
  const nh = p.attrs.find((a) => a.type === 3);
  return {
    afi: mp?.afi ?? 1, safi: mp?.safi ?? 1, prefix: p.nlri.prefix, nlriType: 'IPAddressPrefix',
    nextHops: mp?.nexthop ? [mp.nexthop] : nh?.nexthop ? [nh.nexthop] : [], neighborIp: p['neighbor-ip'], best: p.best, withdraw: p.withdrawal === true,
  };
};
const cliPeer = (p: CliPeer): GobgpPeer => ({
  address: p.state.neighbor_address || p.conf.neighbor_address || '', interface: p.conf.neighbor_interface || undefined, established: p.state.session_state === 6,
});
const peersFrom = (...ps: GobgpPeer[]): PeerIndex => {
  const idx = new PeerIndex();
  for (const p of ps) idx.set(p);
  return idx;
};

describe('GoBGP protobuf decoding (our definitions, GoBGP 3.10 field numbers)', () => {
  it('decodes a destination with an IPAddressPrefix NLRI and each next-hop encoding of MpReachNLRI', () => {
    for (const nextHops of [[LL], ['2001:db8::1', LL], ['::', LL], [LL, LL]]) {
      const d = decodeListPathResponse(encodeListPathResponse('10.99.2.0/24', [{ prefix: '10.99.2.0/24', nextHops, neighborIp: LL }]));
      expect(d.prefix).toBe('10.99.2.0/24');
      expect(d.paths).toEqual([{ afi: 1, safi: 1, prefix: '10.99.2.0/24', nlriType: 'IPAddressPrefix', nextHops, neighborIp: LL, best: true, withdraw: false }]);
    }
  });

  it('takes the NEXT_HOP attribute when there is no MP_REACH', () => {
    const d = decodeListPathResponse(encodeListPathResponse('10.1.0.0/16', [{ prefix: '10.1.0.0/16', nextHopAttribute: '192.0.2.1', neighborIp: '192.0.2.1' }]));
    expect(d.paths[0]!.nextHops).toEqual(['192.0.2.1']);
  });

  it('decodes peers, peer events (END_OF_INIT included) and withdrawals in table events', () => {
    expect(decodeListPeerResponse(encodeListPeerResponse({ stateAddress: `${LL}%h0`, interface: 'h0' }))).toEqual({ address: `${LL}%h0`, interface: 'h0', established: true });
    expect(decodeWatchEventResponse(encodePeerEvent('end-of-init', {}))).toMatchObject({ kind: 'peer', type: 'end-of-init' });
    expect(decodeWatchEventResponse(encodePeerEvent('state', { confAddress: LL, interface: 'h0', sessionState: 1 }))).toEqual({
      kind: 'peer', type: 'state', peer: { address: LL, interface: 'h0', established: false },
    });
    const ev = decodeWatchEventResponse(encodeTableEvent([{ prefix: '10.99.3.0/24', nextHops: [LL], neighborIp: LL, withdraw: true, best: false }]));
    expect(ev).toMatchObject({ kind: 'table', paths: [{ prefix: '10.99.3.0/24', withdraw: true }] });
  });

  it('bytes that are no protobuf are a GobgpDecodeError naming the message, with a bounded hex excerpt', () => {
    const junk = Buffer.alloc(300, 0xff);
    expect(() => decodeListPathResponse(junk)).toThrow(GobgpDecodeError);
    try {
      decodeWatchEventResponse(junk);
    } catch (err) {
      expect((err as Error).message).toMatch(/^WatchEventResponse: .*300 bytes, first f{64}\)$/);
    }
  });
});

describe('GoBGP path translation', () => {
  const peer = cliPeer((JSON.parse(fixture('initial.neighbor.json')) as CliPeer[])[0]!);

  it('the captured global RIB: both prefixes via the peer link-local on the neighbour interface', () => {
    const rib = JSON.parse(fixture('initial.global-rib-ipv4.json')) as Record<string, CliPath[]>;
    const peers = peersFrom(peer);
    const routes = Object.values(rib).map((ps) => translatePath(cliPath(ps.find((p) => p.best)!), peers, TABLE));
    expect(routes).toEqual([
      expect.objectContaining({ ok: true, neighbor: LL, route: { table: TABLE, prefix: expect.objectContaining({ key: '10.99.1.1/32' }), nexthops: [{ interface: 'h0', linkLocal: LL }] } }),
      expect.objectContaining({ ok: true, route: expect.objectContaining({ prefix: expect.objectContaining({ key: '10.99.2.0/24' }) }) }),
    ]);
  });

  it('the captured monitor stream: announcements translate, withdrawals are marked', () => {
    const lines = fixture('monitor-global-rib.jsonl').trim().split('\n').map((l) => (JSON.parse(l) as CliPath[]).map(cliPath));
    const peers = peersFrom(peer);
    const flat = lines.flat();
    expect(flat.filter((p) => p.withdraw).map((p) => p.prefix)).toEqual(['10.99.3.0/24', '10.99.1.1/32', '10.99.2.0/24']);
    for (const p of flat.filter((x) => !x.withdraw)) expect(translatePath(p, peers, TABLE)).toMatchObject({ ok: true, route: { nexthops: [{ interface: 'h0', linkLocal: LL }] } });
  });

  it('finds the interface from the zone of a fe80::…%if neighbour address when neighbor-interface is not set', () => {
    const peers = peersFrom({ address: `${LL}%swp7`, interface: undefined, established: true });
    const path = cliPath((JSON.parse(fixture('initial.global-rib-ipv4.json')) as Record<string, CliPath[]>)['10.99.1.1/32']![0]!);
    expect(translatePath(path, peers, TABLE)).toMatchObject({ ok: true, route: { nexthops: [{ interface: 'swp7', linkLocal: LL }] } });
  });

  it('takes the link-local of [LL], [global, LL], [::, LL]; refuses what holds none', () => {
    expect(linkLocalNexthop([LL])).toEqual({ ll: LL });
    expect(linkLocalNexthop(['2001:db8::1', 'FE80::FF:FE00:101'])).toEqual({ ll: LL });
    expect(linkLocalNexthop(['::', LL])).toEqual({ ll: LL });
    expect(linkLocalNexthop(['192.0.2.1'])).toMatchObject({ reason: 'ipv4-nexthop' });
    expect(linkLocalNexthop(['2001:db8::1'])).toMatchObject({ reason: 'no-link-local-nexthop' });
    expect(linkLocalNexthop(['::'])).toMatchObject({ reason: 'no-link-local-nexthop' });
    expect(linkLocalNexthop([])).toMatchObject({ reason: 'no-nexthop' });
  });

  it.each([
    ['not-ipv4-unicast', { afi: 2 }, [peer]],
    ['bad-prefix', { prefix: '10.99.2.1/24' }, [peer]],
    ['local-path', { neighborIp: '<nil>' }, [peer]],
    ['unknown-neighbor', { neighborIp: 'fe80::99' }, [peer]],
    ['no-interface', {}, [{ address: LL, interface: undefined, established: true }]],
    ['no-interface', {}, [{ address: LL, interface: 'a/b', established: true }]],
    ['ambiguous-neighbor', {}, [{ address: `${LL}%h0`, interface: undefined, established: true }, { address: `${LL}%h1`, interface: undefined, established: true }]],
  ] as const)('unusable: %s', (reason, change, ps) => {
    const base: GobgpPath = { afi: 1, safi: 1, prefix: '10.99.2.0/24', nlriType: 'IPAddressPrefix', nextHops: [LL], neighborIp: LL, best: true, withdraw: false };
    const v = translatePath({ ...base, ...change }, peersFrom(...ps), TABLE);
    expect(v).toMatchObject({ ok: false, reason });
    expect(v.ok ? '' : v.detail.length).toBeLessThan(200);
  });

  it('the captured session-down neighbour is not established', () => {
    expect(cliPeer((JSON.parse(fixture('session-down.neighbor.json')) as CliPeer[])[0]!)).toEqual({ address: `${LL}%h0`, interface: 'h0', established: false });
  });
});

describe('GoBGP source against a fake gobgpd (loopback gRPC)', () => {
  const STALE = 500;
  let fake: FakeGobgpd;
  let source: GobgpSource | undefined;
  afterEach(() => {
    source?.stop();
    fake?.kill();
  });

  async function waitUntil(what: string, cond: () => boolean, ms = 5000): Promise<void> {
    const t0 = Date.now();
    while (!cond()) {
      if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async function setUp(staleMs = STALE): Promise<{ rib: Rib; synced: () => boolean }> {
    fake = new FakeGobgpd();
    fake.peers.push({ stateAddress: `${LL}%h0`, interface: 'h0' });
    fake.paths.set('10.99.1.1/32', { prefix: '10.99.1.1/32', nextHops: [LL, LL], neighborIp: LL });
    fake.paths.set('10.99.2.0/24', { prefix: '10.99.2.0/24', nextHops: ['::', LL], neighborIp: LL });
    fake.paths.set('10.99.9.0/24', { prefix: '10.99.9.0/24', nextHopAttribute: '192.0.2.1', neighborIp: '192.0.2.1' });
    await fake.start();
    const rib = new Rib();
    let synced = false;
    source = new GobgpSource({ address: `127.0.0.1:${fake.port}`, table: TABLE, staleTimeMs: staleMs, maxMessageBytes: 1 << 20, maxPaths: 1000, reconnectMaxMs: 200 }, rib, pino({ level: 'silent' }));
    source.onSynced(() => (synced = true));
    void source.start();
    await waitUntil('first list', () => synced);
    return { rib, synced: () => synced };
  }
  const keys = (rib: Rib): string[] => [...rib.routes()].map((r) => `${r.prefix.key} ${r.nexthops.map((n) => `${n.linkLocal}%${n.interface}`).join(',')}`).sort();

  it('lists, then follows best-path changes and neighbour state; unusable paths are counted by reason', async () => {
    const { rib } = await setUp();
    expect(keys(rib)).toEqual([`10.99.1.1/32 ${LL}%h0`, `10.99.2.0/24 ${LL}%h0`]);
    expect(source!.stats()).toMatchObject({ connected: true, phase: 'live', generation: 1, routes: 2, unusable: { 'ipv4-nexthop': 1 } });
    fake.announce('10.99.3.0/24', { nextHops: [LL], neighborIp: LL });
    await waitUntil('announced', () => rib.size === 3);
    fake.withdraw('10.99.3.0/24');
    await waitUntil('withdrawn', () => rib.size === 2);
    // a new best path that we cannot use replaces ours: ours goes
    fake.announce('10.99.2.0/24', { nextHops: ['2001:db8::1'], neighborIp: LL });
    await waitUntil('replaced by an unusable path', () => rib.size === 1);
    expect(source!.stats().unusable['no-link-local-nexthop']).toBe(1);
    fake.peerState({ confAddress: LL, interface: 'h0', sessionState: 1 });
    await waitUntil('neighbour down withdraws', () => rib.size === 0);
  });

  it('a lost connection keeps the routes; the reconnect replays; what did not come back goes after graceful.stale-time', async () => {
    const { rib } = await setUp(2000); // longer than a reconnect (every 200 ms here)
    const port = fake.port;
    fake.kill();
    await waitUntil('disconnect seen', () => source!.stats().phase !== 'live');
    expect(rib.size).toBe(2); // held
    // gobgpd comes back knowing only one of the two prefixes
    const back = new FakeGobgpd();
    back.peers.push({ stateAddress: `${LL}%h0`, interface: 'h0' });
    back.paths.set('10.99.1.1/32', { prefix: '10.99.1.1/32', nextHops: [LL], neighborIp: LL });
    await back.start(port);
    fake = back;
    await waitUntil('second generation listed', () => source!.stats().generation >= 2 && source!.stats().phase === 'live');
    expect(rib.size).toBe(2); // still held: stale-time from the loss is not over
    await waitUntil('unrefreshed swept', () => rib.size === 1);
    expect(keys(rib)).toEqual([`10.99.1.1/32 ${LL}%h0`]);
  });

  it('a gobgpd that came back reports its peers reconnecting (Idle, Active …): the held routes wait for them', async () => {
    const { rib } = await setUp(2000);
    const port = fake.port;
    fake.kill();
    await waitUntil('disconnect seen', () => source!.stats().phase !== 'live');
    const back = new FakeGobgpd();
    back.peers.push({ stateAddress: `${LL}%h0`, interface: 'h0', sessionState: 1 });
    await back.start(port);
    fake = back;
    await waitUntil('second generation listed', () => source!.stats().generation >= 2 && source!.stats().phase === 'live');
    back.peerState({ confAddress: LL, interface: 'h0', sessionState: 3 });
    back.peerState({ confAddress: LL, interface: 'h0', sessionState: 6 });
    back.announce('10.99.1.1/32', { nextHops: [LL], neighborIp: LL });
    await waitUntil('refreshed', () => source!.stats().routes === 2 && rib.size === 2 && [...rib.routes()].length === 2);
    await waitUntil('unrefreshed swept after stale-time', () => rib.size === 1);
    expect(keys(rib)).toEqual([`10.99.1.1/32 ${LL}%h0`]);
  });

  it('a gobgpd that stays away: every route goes after graceful.stale-time, reconnects keep trying', async () => {
    const { rib } = await setUp();
    fake.kill();
    await waitUntil('all withdrawn', () => rib.size === 0);
    await waitUntil('retried', () => source!.stats().reconnects >= 2);
    expect(source!.stats().lastError).toMatch(/WatchEvent/);
  });

  it('a malformed message is counted and skipped; the rest of the list is taken', async () => {
    fake = new FakeGobgpd();
    fake.peers.push({ stateAddress: `${LL}%h0`, interface: 'h0' });
    fake.paths.set('10.99.1.1/32', { prefix: '10.99.1.1/32', nextHops: [LL], neighborIp: LL });
    fake.extraListMessages = [Buffer.from([0x0a, 0x05, 0xff])];
    await fake.start();
    const rib = new Rib();
    let synced = false;
    source = new GobgpSource({ address: `127.0.0.1:${fake.port}`, table: TABLE, staleTimeMs: STALE, maxMessageBytes: 1 << 20, maxPaths: 1000, reconnectMaxMs: 200 }, rib, pino({ level: 'silent' }));
    source.onSynced(() => (synced = true));
    void source.start();
    await waitUntil('listed', () => synced);
    expect(rib.size).toBe(1);
    expect(source.stats().malformed).toBe(1);
  });

  it('a server that never confirms the watch (no END_OF_INIT) is dropped and retried', async () => {
    fake = new FakeGobgpd();
    fake.silentWatch = true;
    await fake.start();
    source = new GobgpSource({ address: `127.0.0.1:${fake.port}`, table: TABLE, staleTimeMs: STALE, maxMessageBytes: 1 << 20, maxPaths: 10, reconnectMaxMs: 200, initTimeoutMs: 100 }, new Rib(), pino({ level: 'silent' }));
    void source.start();
    await waitUntil('dropped and retried', () => source!.stats().reconnects >= 2);
    expect(source.stats().lastError).toMatch(/END_OF_INIT/);
  });

  it('a list longer than max-paths drops the connection instead of growing without bound', async () => {
    fake = new FakeGobgpd();
    fake.peers.push({ stateAddress: `${LL}%h0`, interface: 'h0' });
    for (let i = 0; i < 5; i++) fake.paths.set(`10.0.${i}.0/24`, { prefix: `10.0.${i}.0/24`, nextHops: [LL], neighborIp: LL });
    await fake.start();
    source = new GobgpSource({ address: `127.0.0.1:${fake.port}`, table: TABLE, staleTimeMs: STALE, maxMessageBytes: 1 << 20, maxPaths: 3, reconnectMaxMs: 200 }, new Rib(), pino({ level: 'silent' }));
    void source.start();
    await waitUntil('refused', () => /max-paths/.test(source!.stats().lastError ?? ''));
  });
});

describe('docs/gobgp.md', () => {
  it('shows docs/gobgp/gobgpd.toml (what the end-to-end test runs) as written', () => {
    const toml = readFileSync(new URL('../../docs/gobgp/gobgpd.toml', import.meta.url), 'utf8');
    const page = readFileSync(new URL('../../docs/gobgp.md', import.meta.url), 'utf8');
    const block = /```toml\n([\s\S]*?)```/.exec(page)?.[1] ?? '';
    const settings = (text: string) => text.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
    expect(settings(block)).toEqual(settings(toml));
  });
});

describe('sources.gobgp configuration', () => {
  const problems = (doc: unknown) => {
    try {
      configFromDocument(doc, new Map());
      return [];
    } catch (err) {
      return (err as ConfigError).problems;
    }
  };

  it('is off by default, on 127.0.0.1:50051', () => {
    expect(configFromDocument({}, new Map()).sources.gobgp).toEqual({ enabled: false, address: '127.0.0.1:50051', maxMessageBytes: 4 << 20, maxPaths: 2_000_000, reconnectMaxMs: 30_000 });
  });

  it('bad values are named with their path and value', () => {
    expect(problems({ sources: { gobgp: { address: 'gobgpd' } } })).toMatchObject([{ path: 'sources.gobgp.address', value: 'gobgpd' }]);
    expect(problems({ sources: { gobgp: { address: '127.0.0.1:70000' } } })).toMatchObject([{ path: 'sources.gobgp.address', message: 'port must be 1 to 65535' }]);
    expect(problems({ sources: { gobgp: { 'max-message-bytes': 10 } } })).toMatchObject([{ path: 'sources.gobgp.max-message-bytes', value: 10 }]);
    expect(problems({ sources: { gobgp: { tls: true } } })).toMatchObject([{ path: 'sources.gobgp.tls' }]);
  });
});
