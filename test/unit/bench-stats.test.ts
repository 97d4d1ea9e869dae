// The bench's arithmetic, apart from any measurement: median and range over runs, the
// baseline check of npm run bench -- --check, and the profile's mapping of nodes to stages.
import { describe, expect, it } from 'vitest';
import { selfTimeByStage, stageOf, topFunctions, type CpuProfile } from '../../bench/profile-stages.js';
import { checkAgainst, collect, isRatio, spread, type BaselineFile } from '../../bench/stats.js';

describe('spread over runs', () => {
  it('median of an odd count is the middle one, of an even count the mean of the middle two', () => {
    expect(spread([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3, n: 3 });
    expect(spread([4, 1, 3, 2])).toEqual({ median: 2.5, min: 1, max: 4, n: 4 });
  });

  it('collects each figure across runs, leaving out what a run did not measure', () => {
    expect(collect([{ a: 1, b: 2 }, { a: 3 }, { a: NaN, b: 4 }])).toEqual({ a: [1, 3], b: [2, 4] });
  });

  it('only the ratios against raw and ip -batch are checked', () => {
    expect(['fpm-via.install.of-raw', 'jsonl.withdraw.vs-ip', 'jsonl.install.ms', 'decode-nhg.add.msg-per-s'].filter(isRatio)).toEqual(['fpm-via.install.of-raw', 'jsonl.withdraw.vs-ip']);
  });
});

describe('--check against the baseline', () => {
  const baseline: BaselineFile = { routes: 1_000_000, written: '2026-12-01T00:00:00Z', loadAverage: '0.1', runs: 3, ratios: { 'a.of-raw': 0.8, 'b.vs-ip': 4, 'c.of-raw': 0.5 } };

  it('a ratio more than 10% below its baseline regresses; 10% exactly, a gain, or not measured does not', () => {
    const lines = checkAgainst(baseline, { 'a.of-raw': 0.71, 'b.vs-ip': 3.6, 'x.of-raw': 0.1 });
    expect(lines.map((l) => [l.name, l.regressed])).toEqual([['a.of-raw', true], ['b.vs-ip', false], ['c.of-raw', false]]);
    expect(lines[2]!.now).toBeUndefined();
    expect(checkAgainst(baseline, { 'a.of-raw': 0.95 })[0]!.regressed).toBe(false);
  });
});

describe('profile stages', () => {
  const url = (f: string) => `file:///repo/dist/src/${f}.js`;
  it('maps the daemon\'s files (and the codecs by function) to stages', () => {
    expect(stageOf(url('sources/fpm/fpm-framing'), 'push')).toBe('read');
    expect(stageOf(url('sources/fpm/fpm-decode'), 'decodeFpmMessage')).toBe('parse');
    // the JSON-lines path (--profile jsonl): the socket and line splitting read, the parsers parse
    expect(stageOf(url('sources/jsonl-server'), 'onData')).toBe('read');
    expect(stageOf(url('sources/line-splitter'), 'push')).toBe('read');
    expect(stageOf(url('sources/jsonl-fast'), 'parseCanonicalLine')).toBe('parse');
    expect(stageOf(url('sources/jsonl-parse'), 'parseLine')).toBe('parse');
    expect(stageOf(url('sources/json-depth'), 'depthOf')).toBe('parse');
    expect(stageOf(url('sources/source-set'), 'apply')).toBe('other');
    expect(stageOf(url('kernel/rtnetlink-codec'), 'decodeRoute')).toBe('parse');
    expect(stageOf(url('kernel/rtnetlink-codec'), 'writeStoredRoute')).toBe('encode');
    // the codec's modules since it was split by message kind
    expect(stageOf(url('kernel/route-codec'), 'writeStoredRoute')).toBe('encode');
    expect(stageOf(url('kernel/route-codec'), 'decodeRoute')).toBe('parse');
    expect(stageOf(url('kernel/route-scan'), 'scanRoute')).toBe('parse');
    expect(stageOf(url('kernel/neigh-link-codec'), 'writeNeighbour')).toBe('encode');
    expect(stageOf(url('rib/route-store'), 'put')).toBe('RIB');
    expect(stageOf(url('reconcile/reconciler'), 'pass')).toBe('plan');
    expect(stageOf(url('kernel/request-worker'), 'flush')).toBe('sendmsg');
    expect(stageOf('', '(garbage collector)')).toBe('gc');
    expect(stageOf('node:internal/fs/utils', 'x')).toBe('other');
    expect(stageOf('node:internal/modules/cjs/loader', 'wrapSafe')).toBe('startup');
    expect(stageOf('', 'postMessage')).toBe('hand-off');
  });

  it('sums self time per stage from the samples and their time deltas', () => {
    const prof: CpuProfile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 } },
        { id: 2, callFrame: { functionName: 'decodeFpmFrame', url: url('sources/fpm/fpm-decode'), lineNumber: 9 } },
        { id: 3, callFrame: { functionName: 'add', url: url('rib/rib'), lineNumber: 0 } },
        { id: 4, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
        // a library called by the decoder counts as parse
        { id: 5, callFrame: { functionName: 'fromUnsignedByteArray', url: 'file:///repo/node_modules/ip-address/dist/ipv6.js', lineNumber: 1 }, children: [6] },
        { id: 6, callFrame: { functionName: 'RegExp: x', url: '', lineNumber: -1 } },
        { id: 7, callFrame: { functionName: 'helper', url: 'node:internal/util', lineNumber: 1 } },
      ].map((n) => (n.id === 2 ? { ...n, children: [5] } : n.id === 1 ? { ...n, children: [2, 3, 4, 7] } : n)),
      // each sample's time runs to the next one
      samples: [2, 2, 3, 4, 6, 7, 2],
      timeDeltas: [0, 1000, 2000, 3000, 4000, 500, 700],
    };
    expect(selfTimeByStage(prof)).toEqual({ parse: 3.5, RIB: 3, idle: 4, other: 0.7 });
    expect(topFunctions(prof, 1)).toEqual([{ name: 'decodeFpmFrame src/sources/fpm/fpm-decode.js:10', stage: 'parse', ms: 3 }]);
  });
});
