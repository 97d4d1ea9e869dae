// Fuzz target for configuration loading: YAML text through configFromYaml, the code
// `rfc5549d check-config` and SIGHUP run (load.ts adds only the file read). Documents are
// the example config and small ones with hostile values put in: YAML tags (!!binary, !!set,
// …), anchors and aliases (self-referencing too), deep nesting, huge lists, control bytes,
// Object.prototype names as keys; then the text is mutated.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError, configFromYaml, formatProblem } from '../../src/config/config.js';
import { Rfc5549Error } from '../../src/errors.js';
import { defaultTableNames } from '../../src/model/route-table.js';
import type { Rng } from './rng.js';
import { PropertyViolation, type FuzzTarget } from './harness.js';
import { PROTO_NAMES } from './jsonl-target.js';
import { checkErrorText } from './properties.js';

/** A leaf written as YAML text as is (tags, aliases, flow collections). */
class Raw {
  constructor(readonly text: string) {}
}
type Node = Raw | string | number | boolean | null | Node[] | { [k: string]: Node };

const TAGGED = [
  '!!binary aGVsbG8gd29ybGQ=', '!!binary AAECAwQFBgcICQ==', '!!set {a, b}', '!!set {h0, swp1}', '!!omap [{a: 1}, {b: 2}]',
  '!!pairs [{a: 1}, {a: 2}]', '!!timestamp 2001-12-14t21:59:43.10-05:00', '!!float .inf', '!!float .nan', '!!int 0x1F',
  '!!str 200', '!!null ~', '!custom x', '!<tag:yaml.org,2002:js/function> "function(){}"', '!!map {}', '!!seq []',
  '!!bool yes', '!!int 99999999999999999999', '!!binary', '!!str', '! x', '!!python/object:os.system [ls]',
];
const SCALARS = [
  'yes', 'no', 'on', 'off', '0o17', '0x1F', '017', '1_000', '.inf', '-.inf', '.nan', '~', 'null', '1e400', '-0', '2001-12-14',
  '123456789012345678901234567890', '0', '-1', '255', '256', '4294967296', '""', "''", '"\\x1b[31mred\\x1b[0m"', '"\\0\\a\\b\\e"',
  '"\\u202eevil"', '"\\x85\\x9b"', '"\\r\\n"', '"\\t"', '|\n  block', '>-\n  folded', '[]', '{}', '[a, [b, [c]]]', '{a: {b: {c: 1}}}',
];
const KEYS = [...PROTO_NAMES, 'kernel', 'log', 'interfaces', 'sources', 'limits', 'filters', 'x', '<<', '? complex', '"\\x1b[2J"', '"a\\nb"', '"\\u0000"', "'q'"];

function deepFlow(rng: Rng): string {
  // past ~800 levels the yaml package overflows its stack and recovers slowly (seconds): rare
  // (the cost is the yaml package's, per level: most stay shallow so a run covers more inputs)
  const r = rng.int(1000);
  const d = r < 960 ? rng.range(2, 150) : r < 998 ? rng.range(150, 700) : rng.range(800, 20000);
  return rng.chance(0.5) ? '['.repeat(d) + ']'.repeat(d) : '{a: '.repeat(d) + '1' + '}'.repeat(d);
}

function controlString(rng: Rng): string {
  let s = '"';
  for (let i = rng.range(1, 12); i > 0; i--) s += rng.chance(0.5) ? `\\x${rng.int(0x20).toString(16).padStart(2, '0')}` : String.fromCharCode(rng.range(0x61, 0x7a));
  return `${s}"`;
}

function hostileNode(rng: Rng, depth = 0): Node {
  switch (rng.int(depth > 1 ? 6 : 10)) {
    case 0:
    case 1: return new Raw(rng.pick(TAGGED));
    case 2:
    case 3: return new Raw(rng.pick(SCALARS));
    case 4: return new Raw(controlString(rng));
    case 5: return new Raw(rng.chance(0.95) ? deepFlow(rng) : rng.pick(['&r [*r]', '&s {a: *s}']));
    case 6: return Array.from({ length: rng.size(300) }, () => (rng.chance(0.97) ? rng.pick(['h0', 'swp*', 'eth?', 'x']) : hostileNode(rng, depth + 1)));
    case 7: return new Raw(`'${'x'.repeat(rng.size(20_000))}'`);
    case 8: return { [rng.pick(KEYS)]: rng.chance(0.5) ? 1 : new Raw(rng.pick(TAGGED)) };
    default: return rng.pick([true, false, null, 0, -1, 1e21, 'h0', '']);
  }
}

const isMap = (n: Node): n is { [k: string]: Node } => typeof n === 'object' && n !== null && !Array.isArray(n) && !(n instanceof Raw);

/** Puts a hostile value (or key) somewhere in the tree: at the root, in a section, in a list. */
function plant(rng: Rng, doc: { [k: string]: Node }): void {
  let cur: { [k: string]: Node } | Node[] = doc;
  for (let depth = 0; depth < 3; depth++) {
    const keys: (string | number)[] = Array.isArray(cur) ? cur.map((_, i) => i) : Object.keys(cur);
    if (keys.length === 0 || rng.chance(0.3)) break;
    const k = rng.pick(keys);
    const next: Node = (cur as Record<string | number, Node>)[k]!;
    if (!(Array.isArray(next) || isMap(next))) break;
    cur = next;
  }
  if (Array.isArray(cur)) {
    if (cur.length > 0 && rng.chance(0.5)) cur[rng.int(cur.length)] = hostileNode(rng);
    else cur.push(hostileNode(rng));
    return;
  }
  const keys = Object.keys(cur);
  if (keys.length > 0 && rng.chance(0.6)) cur[rng.pick(keys)] = hostileNode(rng);
  else cur[rng.chance(0.7) ? rng.pick(KEYS) : controlString(rng)] = hostileNode(rng);
}

/** A YAML emitter with raw leaves; keys in KEYS are already YAML text. */
function emit(n: Node, indent: string): string {
  const key = (k: string): string => (/^[A-Za-z_][\w-]*$/.test(k) || k.startsWith('"') || k.startsWith("'") || k.startsWith('?') || k === '<<' ? k : JSON.stringify(k));
  const inline = (v: Node): string | undefined => {
    if (v instanceof Raw) return v.text.includes('\n') ? v.text.replace(/\n/g, `\n${indent}  `) : v.text;
    if (v === null) return 'null';
    if (typeof v === 'string') return v === '' || /^[\w.*?/-]+$/.test(v) ? (v === '' ? "''" : v) : JSON.stringify(v);
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (Array.isArray(v) && v.length === 0) return '[]';
    if (isMap(v) && Object.keys(v).length === 0) return '{}';
    return undefined;
  };
  if (Array.isArray(n)) return n.map((v) => { const s = inline(v); return s !== undefined ? `${indent}- ${s}\n` : `${indent}-\n${emit(v, `${indent}  `)}`; }).join('');
  if (isMap(n)) return Object.entries(n).map(([k, v]) => { const s = inline(v); return s !== undefined ? `${indent}${key(k)}: ${s}\n` : `${indent}${key(k)}:\n${emit(v, `${indent}  `)}`; }).join('');
  return `${indent}${inline(n) ?? ''}\n`;
}

function mutateText(rng: Rng, text: string): string {
  switch (rng.int(9)) {
    case 0: { const o = rng.int(text.length + 1); return text.slice(0, o) + String.fromCharCode(rng.int(0x20)) + text.slice(o); }
    case 1: return text.slice(0, rng.int(text.length + 1));
    case 2: return `\ufeff${text}`;
    case 3: return text.replace(/\n/g, '\r\n');
    case 4: { const lines = text.split('\n'); const i = rng.int(lines.length); lines.splice(i, 0, lines[rng.int(lines.length)]!); return lines.join('\n'); }
    case 5: { const lines = text.split('\n'); lines[rng.int(lines.length)] = `\t${lines[rng.int(lines.length)]}`; return lines.join('\n'); }
    case 6: return `${text}x-a: &a [lol, lol, lol, lol, lol, lol, lol, lol]\nx-b: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nx-c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nx-d: [*c, *c, *c, *c, *c, *c, *c, *c]\n`;
    case 7: return `kernel: &k {protocol: 200}\nlimits: *k\n${text}`;
    default: { const o = rng.int(text.length); return text.slice(0, o) + String.fromCharCode(rng.int(256)) + text.slice(o + 1); }
  }
}

export function configTarget(root: string): FuzzTarget<string> {
  const example = parseYaml(readFileSync(join(root, 'config/rfc5549d.yaml'), 'utf8')) as { [k: string]: Node };
  const small = (): { [k: string]: Node } => ({ log: { level: 'info' }, kernel: { protocol: 200, table: 5549 }, interfaces: ['h0', 'swp*'], sources: { fpm: { enabled: false } } });
  const tables = defaultTableNames();
  return {
    name: 'config',
    fileExt: 'yaml',
    // A file is parsed at start, by check-config and on SIGHUP, not per packet: the budget is
    // what a file at the size cap may cost in the yaml package (a 150 KB list takes ~200 ms
    // here), while deep nesting, complex keys and alias games that take seconds stay caught.
    // Where a reload still parses on the event loop, that is the event loop's budget too.
    slowMs: 1000,
    generate: (rng) => {
      if (rng.chance(0.0005)) {
        // the issue's list bomb, smaller: many interface entries
        const n = rng.range(1000, 50_000);
        return `interfaces: [${Array.from({ length: n }, (_, i) => `e${i}`).join(', ')}]\n`;
      }
      const r = rng.int(10);
      const doc = r < 1 ? (structuredClone<{ [k: string]: Node }>(example)) : r < 8 ? small() : {};
      for (let i = rng.range(0, 3); i > 0; i--) plant(rng, doc);
      let text = emit(doc, '');
      if (rng.chance(0.3)) for (let i = rng.range(1, 3); i > 0; i--) text = mutateText(rng, text);
      return text;
    },
    run: (text) => {
      let config;
      // the yaml package reports unresolved tags with process.emitWarning: straight to stderr,
      // with the file's line in it; raw control bytes there reach the operator's terminal
      const warnings: string[] = [];
      // restored as it was, unbound: Node calls it as a plain function too
      // eslint-disable-next-line @typescript-eslint/unbound-method
      const emitWarning = process.emitWarning;
      process.emitWarning = ((w: string | Error) => { warnings.push(typeof w === 'string' ? w : w.message); });
      try {
        config = configFromYaml(text, tables, 'fuzz.yaml');
      } catch (err) {
        if (!(err instanceof Rfc5549Error)) throw err;
        // what check-config prints: each problem on its own line, to a terminal
        if (err instanceof ConfigError) {
          for (const p of err.problems) {
            const m = /^unknown keys? (.*)$/.exec(p.message);
            if (!m) continue;
            for (const k of m[1]!.match(/"([^"]*)"/g) ?? []) {
              const name = k.slice(1, -1);
              if (/^[\w-]+$/.test(name) && !text.includes(name)) throw new PropertyViolation('config-phantom-key', `problem names key "${name}" (at ${p.path}), which the file does not have`);
            }
          }
        }
        const lines = err instanceof ConfigError ? err.problems.map(formatProblem) : [err.message];
        for (const l of lines) checkErrorText(l, 'config-error', { controls: true });
        return;
      } finally {
        process.emitWarning = emitWarning;
        for (const w of warnings) checkErrorText(w, 'config-stderr-warning', { controls: true, maxChars: 100_000 });
      }
      if (config.kernel.table === 0 || config.kernel.table === 255) throw new PropertyViolation('config-invalid-accepted', `kernel.table ${config.kernel.table} accepted`);
      if (!Object.isFrozen(config)) throw new PropertyViolation('config-not-frozen', 'the Config is not frozen');
    },
    serialize: (text) => Buffer.from(text, 'utf8'),
    deserialize: (bytes) => bytes.toString('utf8'),
  };
}
