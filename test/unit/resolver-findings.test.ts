// Once per episode: zebra's wrong placeholder and interface-only ambiguity are warned about
// when they begin, said again only after they ended, and a link flap is no new episode.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { LinkLocal } from '../../src/model/link-local.js';
import type { Mac } from '../../src/model/mac.js';
import { ResolverFindings } from '../../src/reconcile/resolver-findings.js';
import type { Resolver, ZebraPlaceholderWrong } from '../../src/reconcile/resolver.js';

const PEER = 'fe80::5c3a:91d2:1e2b:7d01' as LinkLocal;
const OTHER = 'fe80::ff:fe00:101' as LinkLocal;
const WRONG: ZebraPlaceholderWrong = {
  ifname: 'h0', gateway: 0xa9fe0001, zebraMac: '5e:3a:91:2b:7d:01' as Mac, peer: PEER, ourMac: '52:54:00:12:34:56' as Mac, evidence: 'ra', ourGateway: 0xa9fe0002,
};

function setup() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write(chunk: Buffer, _e, cb) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); cb(); } });
  const findings = new ResolverFindings(pino({ level: 'info' }, sink));
  const pass = (p: { zebra?: ZebraPlaceholderWrong[]; ambiguous?: [string, LinkLocal[]][]; decided?: string[]; looked?: string[]; full?: boolean }) => {
    const decided = new Set(p.decided ?? ['h0']);
    const r = { zebraWrong: p.zebra ?? [], ambiguous: new Map(p.ambiguous ?? []), decided, looked: new Set([...(p.looked ?? []), ...decided]) };
    findings.notePass(r as unknown as Resolver, p.full ?? false);
  };
  const events = (name: string) => lines.filter((l) => l.event === name);
  return { findings, pass, events };
}

describe('resolver findings, once per episode', () => {
  it('zebra\'s wrong placeholder: one warning naming interface, both MACs and our evidence; peers sees it; it ends when zebra agrees', () => {
    const { findings, pass, events } = setup();
    for (let i = 0; i < 5; i++) pass({ zebra: [WRONG] });
    expect(events('zebraPlaceholderWrong')).toHaveLength(1);
    expect(events('zebraPlaceholderWrong')[0]).toMatchObject({
      level: 40, ifname: 'h0', gateway: '169.254.0.1', zebraMac: WRONG.zebraMac, peer: PEER, mac: WRONG.ourMac, evidence: 'ra', ourGateway: '169.254.0.2',
    });
    expect(findings.zebraPlaceholderFor('h0', PEER)).toEqual(WRONG);
    // link down: h0 looked at but not judged; the episode goes on
    pass({ decided: [], looked: ['h0'] });
    pass({ zebra: [WRONG] });
    expect(events('zebraPlaceholderWrong')).toHaveLength(1);
    pass({});
    expect(events('zebraPlaceholderAgreed')).toHaveLength(1);
    expect(findings.zebraPlaceholderFor('h0', PEER)).toBeUndefined();
    pass({ zebra: [WRONG] });
    expect(events('zebraPlaceholderWrong')).toHaveLength(2); // a new episode
  });

  it('zebra\'s MAC changing is a new episode', () => {
    const { pass, events } = setup();
    pass({ zebra: [WRONG] });
    pass({ zebra: [{ ...WRONG, zebraMac: '5e:3a:91:2b:7d:02' as Mac }] });
    expect(events('zebraPlaceholderWrong')).toHaveLength(2);
  });

  it('ambiguity: one warning saying to use nexthop-group mode; gone with the interface\'s routes on a full pass', () => {
    const { findings, pass, events } = setup();
    for (let i = 0; i < 3; i++) pass({ ambiguous: [['h0', [PEER, OTHER]]] });
    expect(events('learntPeerAmbiguous')).toHaveLength(1);
    expect(events('learntPeerAmbiguous')[0]).toMatchObject({ level: 40, ifname: 'h0', peers: [PEER, OTHER], msg: expect.stringContaining('fpm use-next-hop-groups') });
    expect(findings.ambiguousOn('h0')).toEqual([PEER, OTHER]);
    pass({ decided: ['h1'] }); // a partial pass that did not look at h0 changes nothing
    expect(findings.ambiguousOn('h0')).toEqual([PEER, OTHER]);
    pass({ decided: ['h1'], full: true }); // a full pass without h0: no route uses it now
    expect(findings.ambiguousOn('h0')).toBeUndefined();
    expect(events('learntPeerUnambiguous')).toHaveLength(1);
  });
});
