// A V8 CPU profile (.cpuprofile, as node --cpu-prof writes it) reduced to self time per stage
// of the daemon's path, by the source file (and for the codecs the function) of each node.
// Pure: test/unit/bench-stats.test.ts checks the mapping on a hand-made profile.
export const STAGES = ['read', 'parse', 'RIB', 'plan', 'encode', 'sendmsg'] as const;
export type Stage = (typeof STAGES)[number] | 'hand-off' | 'startup' | 'gc' | 'program' | 'idle' | 'other';

export interface CpuProfile {
  readonly nodes: readonly { readonly id: number; readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }; readonly children?: readonly number[] }[];
  readonly samples: readonly number[];
  /** µs before each sample */
  readonly timeDeltas: readonly number[];
}

const RULES: readonly [Stage, RegExp, RegExp?][] = [
  ['gc', /^$/, /^\(garbage collector\)$/],
  ['idle', /^$/, /^\(idle\)$/],
  ['program', /^$/, /^\((program|root)\)$/],
  // loading and compiling modules: the daemon's start, inside the profile's window
  ['startup', /^node:internal\/(modules|bootstrap|deps\/cjs-module-lexer)/],
  ['read', /\/sources\/(fpm\/fpm-(server|framing)|jsonl-server\.|line-splitter\.)|^node:(net|stream|internal\/(stream|streams|net)|events)/],
  ['parse', /\/sources\/(fpm\/|jsonl-(fast|parse)\.|json-depth\.)|\/model\//],
  // the codec is split by message kind (route-codec, route-scan, neigh-link-codec ...)
  ['parse', /\/kernel\/([\w-]+-codec|route-scan)\./, /^(decode|scan|split|forEachAttr)/],
  ['sendmsg', /\/kernel\/(request-worker|request-client|netlink-socket|netlink-channel)\.|\/node_modules\/netlink\//],
  ['encode', /\/kernel\/([\w-]+-codec|forwardings)\./],
  ['RIB', /\/rib\//],
  ['plan', /\/reconcile\//],
  // native functions called from JS (the binding's send, Buffer ops) have no url
  ['sendmsg', /^$/, /^send$/],
  // batches and acknowledgements between the main thread and the request worker
  ['hand-off', /^$/, /^postMessage$/],
  ['hand-off', /^node:internal\/(event_target|worker|per_context\/messageport)/],
];

export function stageOf(url: string, functionName: string): Stage {
  for (const [stage, file, fn] of RULES) if (file.test(url) && (!fn || fn.test(functionName))) return stage;
  return 'other';
}

/** µs of self time per node id: each sample gets the delta up to the next one. */
function selfMicros(p: CpuProfile): Map<number, number> {
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i + 1] ?? 0;
    self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + Math.max(0, dt));
  }
  return self;
}

/**
 * The stage of each node: its own, or for code of no stage (a library, a builtin, a RegExp)
 * that of the nearest caller that has one, so ip-address's parsing counts as the parse that
 * called it.
 */
function nodeStages(p: CpuProfile): Map<number, Stage> {
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const memo = new Map<number, Stage>();
  const stage = (id: number): Stage => {
    const known = memo.get(id);
    if (known) return known;
    const n = byId.get(id)!;
    let st = stageOf(n.callFrame.url, n.callFrame.functionName);
    if (st === 'other' && parent.has(id)) {
      const up = stage(parent.get(id)!);
      if (up !== 'program' && up !== 'idle') st = up;
    }
    memo.set(id, st);
    return st;
  };
  for (const n of p.nodes) stage(n.id);
  return memo;
}

/** ms of self time per stage */
export function selfTimeByStage(p: CpuProfile): Partial<Record<Stage, number>> {
  const self = selfMicros(p);
  const stages = nodeStages(p);
  const out: Partial<Record<Stage, number>> = {};
  for (const n of p.nodes) {
    const us = self.get(n.id);
    if (!us) continue;
    const st = stages.get(n.id)!;
    out[st] = (out[st] ?? 0) + us / 1000;
  }
  return out;
}

/** The functions with the most self time (idle left out), in ms, with their stage. */
export function topFunctions(p: CpuProfile, k: number): { name: string; stage: Stage; ms: number }[] {
  const self = selfMicros(p);
  const stages = nodeStages(p);
  const byName = new Map<string, { name: string; stage: Stage; ms: number }>();
  for (const n of p.nodes) {
    const us = self.get(n.id);
    if (!us) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const stage = stages.get(n.id)!;
    if (stage === 'idle') continue;
    const file = url.replace(/^file:\/\//, '').replace(/^.*\/(dist|node_modules)\//, (_m, dir: string) => (dir === 'node_modules' ? 'node_modules/' : ''));
    const name = `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
    const e = byName.get(name) ?? { name, stage, ms: 0 };
    e.ms += us / 1000;
    byName.set(name, e);
  }
  return [...byName.values()].sort((a, b) => b.ms - a.ms).slice(0, k);
}
