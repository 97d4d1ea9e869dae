// The two baselines every daemon figure is compared with, timed in the same run and the same
// namespace: `ip -batch` of the routes, and the raw batched writer (bench/raw-netlink.ts), the
// kernel's own cost. Both inputs are made before the clock starts.
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Topology } from '../test/helpers/netns.js';
import { dst, kernelCount, METRIC, PROTOCOL, TABLE } from './bench-kit.js';

/** routes the raw writer packs per sendmsg, ACK on the last (the measurement) */
export const RAW_BATCH = 3000;
const RAW_WRITER = fileURLToPath(new URL('./raw-netlink.js', import.meta.url));

export interface Baselines {
  ipAddMs: number;
  ipDelMs: number;
  rawAddMs: number;
  rawDelMs: number;
}

export function ipBatch(ns: string, file: string): number {
  const t0 = performance.now();
  const r = spawnSync('ip', ['-n', ns, '-batch', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`ip -batch: ${r.stderr.slice(0, 300)}`);
  return performance.now() - t0;
}

/** The raw writer, run inside the namespace; its own clock (sendmsg to the last ACK). */
function rawBatch(ns: string, n: number, op: 'add' | 'del'): number {
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, RAW_WRITER, op, String(n), String(TABLE), String(PROTOCOL), String(METRIC), 'h0', String(RAW_BATCH)], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`raw netlink ${op}: exit ${r.status ?? r.signal}: ${r.stderr.slice(0, 300)}`);
  const { ms } = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as { ms: number };
  return ms;
}

/** An ip -batch file of n lines (the text is garbage once written: 60-100 MB at a million). */
export function writeBatch(file: string, n: number, line: (i: number) => string): void {
  let text = '';
  for (let i = 0; i < n; i++) text += line(i);
  writeFileSync(file, text);
}

/** ip -batch, then the raw writer, each adding then deleting n routes; the table is empty after. */
export function measureBaselines(topo: Topology, dir: string, n: number): Baselines {
  const ns = topo.host.name;
  const addFile = join(dir, 'add.batch');
  const delFile = join(dir, 'del.batch');
  writeBatch(addFile, n, (i) => `route add ${dst(i)}/32 via 169.254.0.1 dev h0 onlink proto ${PROTOCOL} metric ${METRIC} table ${TABLE}\n`);
  writeBatch(delFile, n, (i) => `route del ${dst(i)}/32 proto ${PROTOCOL} metric ${METRIC} table ${TABLE}\n`);
  try {
    const ipAddMs = ipBatch(ns, addFile);
    const ipHeld = kernelCount(ns);
    const ipDelMs = ipBatch(ns, delFile);
    if (ipHeld !== n || kernelCount(ns) !== 0) throw new Error(`ip -batch baseline: held ${ipHeld}, left ${kernelCount(ns)}`);
    const rawAddMs = rawBatch(ns, n, 'add');
    const rawHeld = kernelCount(ns);
    const rawDelMs = rawBatch(ns, n, 'del');
    if (rawHeld !== n || kernelCount(ns) !== 0) throw new Error(`raw netlink baseline: held ${rawHeld}, left ${kernelCount(ns)}`);
    return { ipAddMs, ipDelMs, rawAddMs, rawDelMs };
  } finally {
    rmSync(addFile, { force: true });
    rmSync(delFile, { force: true });
  }
}
