// docs/operations.md quotes the FRR configuration the e2e tests start FRR with
// (docs/frr/): the two must never drift apart.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');

describe('docs/frr', () => {
  it.each(['frr.conf', 'daemons'])('docs/operations.md quotes docs/frr/%s as it is', (file) => {
    expect(read('docs/operations.md')).toContain(`\n\`\`\`${file === 'daemons' ? 'sh' : ''}\n${read(`docs/frr/${file}`)}\`\`\`\n`);
  });

  it.each(['frr.conf', 'frr-shared-segment.conf'])('docs/frr/%s has what FRR 8.4 needs to exchange, spread and restart', (file) => {
    const text = read(`docs/frr/${file}`);
    for (const line of ['no bgp ebgp-requires-policy', 'capability extended-nexthop', 'maximum-paths', 'fpm address 127.0.0.1 port 2620', 'bgp graceful-restart preserve-fw-state', 'network ']) {
      expect(text, line).toContain(line);
    }
  });

  it('docs/frr/daemons loads the FPM module into zebra', () => {
    expect(read('docs/frr/daemons')).toMatch(/^zebra_options="[^"]*-M dplane_fpm_nl[^"]*"$/m);
  });
});
