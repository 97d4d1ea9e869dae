// docs/operations.md quotes the dry-run configuration test/netns/dry-run.test.ts runs
// (docs/dry-run/): the two must never drift apart, and the file must be a valid configuration.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertStartable } from '../../src/config/config.js';
import { loadConfig } from '../../src/config/load.js';
import { parseRtTables } from '../../src/model/route-table.js';

const ROOT = resolve(import.meta.dirname, '../..');
const FILE = 'docs/dry-run/rfc5549d-dry-run.yaml';
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');

describe('docs/dry-run', () => {
  it('docs/operations.md quotes docs/dry-run/rfc5549d-dry-run.yaml as it is', () => {
    expect(read('docs/operations.md')).toContain(`\n\`\`\`yaml\n${read(FILE)}\`\`\`\n`);
  });

  it('is a configuration the daemon starts with', () => {
    const config = loadConfig(join(ROOT, FILE), parseRtTables(''));
    expect(() => assertStartable(config, FILE)).not.toThrow();
    expect(config.kernel).toMatchObject({ protocol: 200, table: 5549, rulePriority: 5549, metric: 20 });
    expect(config.sources.fpm.enabled).toBe(true);
  });
});
