import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { assertStartable, ConfigError, configFromDocument, configFromYaml, formatProblem, FRR_OWN_PROTOCOLS, zebraConflicts } from '../../src/config/config.js';
import { parseRtTables } from '../../src/model/route-table.js';

const tables = parseRtTables('100 blue\n');
const problems = (doc: unknown) => {
  try {
    configFromDocument(doc, tables);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe('configuration', () => {
  it('the annotated example holds exactly the embedded defaults', () => {
    const example = configFromYaml(readFileSync(new URL('../../config/rfc5549d.yaml', import.meta.url), 'utf8'), tables);
    expect(example).toEqual(configFromDocument({}, tables));
    expect(example).toMatchObject({ kernel: { protocol: 200, metric: 20, table: 5549, rulePriority: 5549 }, graceful: { staleTimeMs: 30_000 } });
    expect(Object.isFrozen(example.kernel)).toBe(true);
  });

  it('every key of the example file is in the README and docs/configuration.md reference tables', () => {
    const doc = parseYaml(readFileSync(new URL('../../config/rfc5549d.yaml', import.meta.url), 'utf8')) as Record<string, unknown>;
    const leaves = (o: Record<string, unknown>, at = ''): string[] =>
      Object.entries(o).flatMap(([k, v]) => (v && typeof v === 'object' && !Array.isArray(v) ? leaves(v as Record<string, unknown>, `${at}${k}.`) : [`${at}${k}`]));
    const keys = leaves(doc);
    expect(keys.length).toBeGreaterThan(25);
    for (const file of ['../../README.md', '../../docs/configuration.md']) {
      const text = readFileSync(new URL(file, import.meta.url), 'utf8');
      const missing = keys.filter((k) => !text.includes(`| \`${k}\` |`));
      expect(missing, file).toEqual([]);
    }
  });

  it('filters and limits: bad rules are named with their index and value', () => {
    expect(problems({ limits: { 'max-routes': 0 } })).toMatchObject([{ path: 'limits.max-routes', value: 0 }]);
    expect(problems({ filters: { rules: [{ action: 'reject', prefix: '10.0.0.0/8', ge: 4 }] } })).toEqual([
      { path: 'filters.rules.0', value: { action: 'reject', prefix: '10.0.0.0/8', ge: 4 }, message: 'ge 4 must be between the prefix length 8 and 32' },
    ]);
    expect(problems({ metrics: { listen: '127.0.0.1:99999' } })).toMatchObject([{ path: 'metrics.listen', value: '127.0.0.1:99999' }]);
  });

  it('takes names and seconds', () => {
    const c = configFromYaml('kernel: {table: blue}\ngraceful: {stale-time: 2.5}\ninterfaces: [swp*, h0]\n', tables);
    expect(c.kernel.table).toBe(100);
    expect(c.graceful.staleTimeMs).toBe(2500);
    expect(c.interfaces).toEqual(['swp*', 'h0']);
  });

  it.each([
    [{ kernel: { protocol: 2 } }, 'kernel.protocol', 2],
    [{ kernel: { protocol: 300 } }, 'kernel.protocol', 300],
    [{ kernel: { metric: -1 } }, 'kernel.metric', -1],
    [{ kernel: { table: 'red' } }, 'kernel.table', 'red'],
    [{ kernel: { table: 255 } }, 'kernel.table', 255],
    [{ kernel: { table: 253 } }, 'kernel.table', 253],
    [{ kernel: { table: 0 } }, 'kernel.table', 0],
    [{ limits: { 'max-legs': 225 } }, 'limits.max-legs', 225],
    [{ limits: { 'max-legs': 0 } }, 'limits.max-legs', 0],
    [{ kernel: { mode: 'via' }, limits: { 'max-legs': 109 } }, 'limits.max-legs', 109],
    [{ kernel: { 'gateway-pool': '10.0.0.0/24' } }, 'kernel.gateway-pool', '10.0.0.0/24'],
    [{ kernel: { 'gateway-pool': '169.254.0.0/31' } }, 'kernel.gateway-pool', '169.254.0.0/31'],
    [{ kernel: { 'gateway-pool': '169.254.0.1/24' } }, 'kernel.gateway-pool', '169.254.0.1/24'],
    [{ log: { level: 'loud' } }, 'log.level', 'loud'],
    [{ graceful: { 'stale-time': -5 } }, 'graceful.stale-time', -5],
    [{ sources: { jsonl: { socket: 5 } } }, 'sources.jsonl.socket', 5],
    [{ interfaces: ['eth0/1'] }, 'interfaces.0', 'eth0/1'],
    [{ kernal: {} }, 'kernal', undefined],
    [{ kernel: { tabel: 5 } }, 'kernel.tabel', undefined],
  ])('%j is refused at %s', (doc, path, value) => {
    const p = problems(doc);
    expect(p.length).toBeGreaterThan(0);
    expect(p[0]).toMatchObject({ path, value });
  });

  it('the embedded default is safe next to zebra: no FRR protocol number, not main, a rule of ours ahead of main', () => {
    const c = configFromDocument({}, tables);
    expect(FRR_OWN_PROTOCOLS.has(c.kernel.protocol)).toBe(false);
    expect(c.kernel.table).not.toBe(254);
    expect(c.kernel.rulePriority).toBeLessThan(32766);
  });

  it('kernel.rule-priority: the kernel\'s own preferences are refused, null is no rule, and main gets none', () => {
    for (const pref of [0, 32766, 32767]) {
      expect(problems({ kernel: { 'rule-priority': pref } })).toMatchObject([{ path: 'kernel.rule-priority', value: pref, message: expect.stringMatching(/the kernel's "lookup (local|main|default)" rule/) }]);
    }
    expect(configFromDocument({ kernel: { 'rule-priority': null } }, tables).kernel.rulePriority).toBeUndefined();
    expect(configFromDocument({ kernel: { 'rule-priority': 100, table: 1000 } }, tables).kernel).toMatchObject({ rulePriority: 100, table: 1000 });
    expect(configFromDocument({ kernel: { table: 'main' } }, tables).kernel.rulePriority).toBeUndefined();
    expect(problems({ kernel: { 'rule-priority': -1 } })).toMatchObject([{ path: 'kernel.rule-priority', value: -1 }]);
  });

  it('config/rt_protos.d/rfc5549d.conf names the default protocol for iproute2', () => {
    const text = readFileSync(new URL('../../config/rt_protos.d/rfc5549d.conf', import.meta.url), 'utf8');
    const lines = text.split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean);
    expect(lines).toEqual([`${configFromDocument({}, tables).kernel.protocol}\trfc5549d`]);
  });

  it('kernel.gateway-pool gives its host addresses', () => {
    expect(configFromDocument({ kernel: { 'gateway-pool': '169.254.7.0/29' } }, tables).kernel.gatewayPool).toEqual({ first: 0xa9fe0701, size: 6, text: '169.254.7.0/29' });
    expect(configFromDocument({}, tables).kernel.gatewayPool).toEqual({ first: 0xa9fe0001, size: 254, text: '169.254.0.0/24' });
  });

  it('reports every problem at once, and bad YAML with its line', () => {
    expect(problems({ kernel: { protocol: 1, metric: 'x' }, log: { level: 3 } }).map((p) => p.path).sort()).toEqual(['kernel.metric', 'kernel.protocol', 'log.level']);
    expect(() => configFromYaml('kernel:\n  table: [\n', tables)).toThrow(/not valid YAML at line/);
  });

  describe('a configuration that would fight zebra (issue 11)', () => {
    const fpmOn = { enabled: true };
    it.each([
      [186, 254],
      [186, 'main'],
      [11, 254],
      [196, 254],
      [198, 254],
    ])('protocol %s in table %s with FPM on is refused, naming the keys', (protocol, table) => {
      const c = configFromDocument({ kernel: { protocol, table }, sources: { fpm: fpmOn } }, tables);
      const p = zebraConflicts(c);
      expect(p).toHaveLength(1);
      expect(p[0]).toMatchObject({ path: 'kernel.protocol', value: protocol });
      const text = formatProblem(p[0]!);
      for (const key of ['kernel.protocol', 'kernel.table', 'sources.fpm.enabled']) expect(text).toContain(key);
      // the protocol by its rt_protos name where it has one (198 has none here)
      expect(text).toContain(({ 186: '186 (bgp)', 11: '11 (zebra)', 196: '196 (static)' } as Record<number, string>)[protocol] ?? `${protocol} is a protocol`);
      expect(() => assertStartable(c, 'test.yaml')).toThrow(ConfigError);
      try {
        assertStartable(c, 'test.yaml');
      } catch (err) {
        expect((err as ConfigError).code).toBe('CONFIG_INVALID');
        expect((err as ConfigError).message).toMatch(/^test\.yaml: kernel\.protocol: /);
      }
    });

    it.each([
      ['an FRR protocol in a table of our own (warned at start, not refused)', { kernel: { protocol: 186, table: 1000 }, sources: { fpm: fpmOn } }],
      ['a protocol FRR does not use in main', { kernel: { protocol: 200, table: 254 }, sources: { fpm: fpmOn } }],
      ['an FRR protocol in main without FPM (no zebra feeding us)', { kernel: { protocol: 186, table: 254 }, sources: { fpm: { enabled: false } } }],
    ])('%s is accepted', (_what, doc) => {
      const c = configFromDocument(doc, tables);
      expect(zebraConflicts(c)).toEqual([]);
      expect(() => assertStartable(c, 'test.yaml')).not.toThrow();
    });
  });
});
