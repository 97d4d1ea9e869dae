// Issue 12: config files an attacker (or an accident) would write. Each is refused with a
// message that names the path, bounded, with control bytes escaped; none throws anything
// but a ConfigError, and none is parsed past the caps.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, configFromYaml, formatProblem, type ConfigProblem } from '../../src/config/config.js';
import { loadConfig } from '../../src/config/load.js';
import { MAX_FILTER_RULES, MAX_FPM_PROTOCOLS, MAX_INTERFACES } from '../../src/config/schema.js';
import { MAX_CONFIG_BYTES } from '../../src/config/yaml-document.js';
import { parseRtTables } from '../../src/model/route-table.js';

const tables = parseRtTables('100 blue\n');
const dir = mkdtempSync(join(tmpdir(), 'rfc5549d-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function refusal(run: () => unknown): { problems: readonly ConfigProblem[]; lines: string[]; message: string } {
  try {
    run();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { problems: err.problems, lines: err.problems.map(formatProblem), message: err.message };
  }
  throw new Error('accepted');
}
const fromYaml = (text: string) => refusal(() => configFromYaml(text, tables, 'test.yaml'));
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

describe('hostile configuration files', () => {
  it('a YAML tag is refused with its name and path, not turned into a Buffer', () => {
    const bin = fromYaml('interfaces: !!binary aGVsbG8=\n');
    expect(bin.problems).toEqual([{ path: 'interfaces', value: undefined, message: expect.stringMatching(/^YAML tag "!!binary" is not supported/) }]);
    expect(bin.message).not.toMatch(/readUInt|writeInt|unknown key/);
    expect(fromYaml('kernel:\n  table: !custom 100\n').problems[0]).toMatchObject({ path: 'kernel.table', message: expect.stringMatching(/^YAML tag "!custom"/) });
    expect(fromYaml('filters:\n  rules:\n    - !!map {action: accept, prefix: 10.0.0.0/8}\n').problems[0]).toMatchObject({ path: 'filters.rules.0' });
    expect(fromYaml('!!set {a, b}\n').problems[0]).toMatchObject({ path: '(root)' });
  });

  it('an anchor bomb is refused by the alias cap', () => {
    const bomb = ['a: &a [x,x,x,x,x,x,x,x,x]', ...['b', 'c', 'd', 'e', 'f', 'g'].map((k, i, ks) => `${k}: &${k} [${Array(9).fill(`*${i === 0 ? 'a' : ks[i - 1]}`).join(',')}]`)].join('\n');
    expect(fromYaml(bomb).lines[0]).toMatch(/^\(root\): not valid YAML: more than 100 alias expansions/);
  });

  it('deep nesting is refused, in flow and in block form', () => {
    const flow = `interfaces: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`;
    expect(flow.length).toBeLessThan(MAX_CONFIG_BYTES);
    expect(fromYaml(flow).lines[0]).toMatch(/nested (too deeply|deeper than 16 levels)/);
    let block = 'kernel:\n';
    for (let i = 1; i < 40; i++) block += `${' '.repeat(i)}k${i}:\n`;
    expect(fromYaml(`${block}${' '.repeat(40)}x: 1\n`).lines[0]).toMatch(/^kernel\.k1\.k2\..*: nested deeper than 16 levels$/);
  });

  it('control bytes in keys, values and parser messages are escaped in every message', () => {
    expect(fromYaml('kernel: {table: 100}\n"\u001b[2Jfoo": 1\n').lines).toEqual(['\\u001b[2Jfoo: unknown key "\\u001b[2Jfoo"']);
    expect(fromYaml('kernel: {table: "\u001b[31mred\u0007"}\n').lines).toEqual(['kernel.table: "\\u001b[31mred\\u0007" is not a table known to rt_tables (value "\\u001b[31mred\\u0007")']);
    for (const text of ['kernel: {table: "\u001b]0;pwned\u0007"}\n', '\u001b[2J: [\n', 'a: "\u009b31m\n', `interfaces: [${'\u001b'.repeat(20)}]\n`]) {
      const { message, lines } = fromYaml(text);
      expect(message).not.toMatch(CONTROL);
      for (const l of lines) expect(l).not.toMatch(CONTROL);
    }
  });

  it('Object.prototype names are keys and values like any other', () => {
    expect(fromYaml('sources:\n  fpm:\n    protocols: [constructor]\n').problems[0]).toMatchObject({ path: 'sources.fpm.protocols.0', value: 'constructor', message: expect.stringMatching(/^not a route protocol/) });
    expect(fromYaml('sources:\n  fpm:\n    protocols: [toString, bgp]\n').problems).toHaveLength(1);
    expect(fromYaml('__proto__: {log: {level: debug}}\n').problems[0]).toMatchObject({ message: 'unknown key "__proto__"' });
    expect(fromYaml('kernel: {table: constructor}\n').problems[0]).toMatchObject({ path: 'kernel.table', message: '"constructor" is not a table known to rt_tables' });
  });

  it('lists are capped in the schema', () => {
    const names = (n: number) => `interfaces: [${Array.from({ length: n }, (_, i) => `e${i}`).join(', ')}]\n`;
    expect(() => configFromYaml(names(MAX_INTERFACES), tables)).not.toThrow();
    const [line, ...more] = fromYaml(names(MAX_INTERFACES + 1)).lines;
    expect(more).toEqual([]);
    expect(line).toMatch(/^interfaces: at most 4096 interface names or globs \(value \["e0","e1",.*…\)$/);
    expect(line!.length).toBeLessThan(200);
    const rules = (n: number) => `filters:\n  rules:\n${'    - {action: accept, prefix: 10.0.0.0/8, le: 24}\n'.repeat(n)}`;
    expect(fromYaml(rules(MAX_FILTER_RULES + 1)).problems[0]).toMatchObject({ path: 'filters.rules', message: `at most ${MAX_FILTER_RULES} rules` });
    expect(fromYaml(`sources: {fpm: {protocols: [${Array(MAX_FPM_PROTOCOLS + 1).fill('bgp').join(',')}]}}\n`).problems[0]).toMatchObject({ path: 'sources.fpm.protocols', message: `at most ${MAX_FPM_PROTOCOLS} protocols` });
  });

  it('the file is capped before it is parsed, and must be a regular file', () => {
    const big = join(dir, 'big.yaml');
    writeFileSync(big, `interfaces: [${'a,'.repeat(25 * 1024 * 1024)}a]\n`); // 50 MB: 44 s and 3.8 GB before
    expect(refusal(() => loadConfig(big, tables)).lines).toEqual([`(root): the file is ${25 * 1024 * 1024 * 2 + 16} bytes, at most ${MAX_CONFIG_BYTES} are read`]);
    expect(refusal(() => loadConfig('/dev/zero', tables)).lines).toEqual(['(root): not a regular file']);
    expect(fromYaml(`# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`).lines[0]).toMatch(/^\(root\): the file is \d+ bytes, at most 262144 are read$/);
  });

  it('a value in a message is a bounded excerpt', () => {
    const r = fromYaml(`kernel: {table: "${'t'.repeat(100_000)}"}\n`);
    expect(r.message.length).toBeLessThan(600);
  });
});
