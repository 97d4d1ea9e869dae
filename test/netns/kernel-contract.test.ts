// The kernel contract (test/helpers/kernel-contract.ts) against the real kernel: each case
// runs the real NetlinkKernel (dist/, so `npm run build` first) inside the host namespace of
// a fresh throwaway Topology. The same cases run on the FakeKernel in
// test/unit/kernel-contract.test.ts; where they disagree, the real kernel wins.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KERNEL_CONTRACT } from '../helpers/kernel-contract.js';
import { kernelSuiteEnabled, Topology } from '../helpers/netns.js';

const child = join(import.meta.dirname, '../../dist/test/helpers/kernel-contract-child.js');
const enabled = kernelSuiteEnabled('kernel contract (netns)');

describe.runIf(enabled)('the kernel contract on the real kernel', () => {
  it('has its child built (npm run build)', () => {
    expect(existsSync(child), `${child} missing: run npm run build`).toBe(true);
  });

  for (const c of KERNEL_CONTRACT) {
    it(c.name, () => {
      const topo = Topology.create({ noReturnPath: true });
      try {
        const r = spawnSync('ip', ['netns', 'exec', topo.host.name, process.execPath, child, c.name, topo.peer.name], { encoding: 'utf8', timeout: 30_000 });
        const line = r.stdout.trim().split('\n').pop() ?? '';
        let verdict: { ok: boolean; error?: string };
        try {
          verdict = JSON.parse(line) as { ok: boolean; error?: string };
        } catch {
          throw new Error(`the contract child said no verdict (status ${r.status}): ${(r.stderr || r.stdout).slice(0, 2000)}`);
        }
        expect(verdict.error ?? '').toBe('');
        expect(verdict.ok).toBe(true);
      } finally {
        topo.destroy();
      }
    });
  }
});
