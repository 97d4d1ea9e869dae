// What the benches share: the routes they install (10.x.y.z/32 counting from 10.0.0.0, via
// 169.254.0.1 dev h0 onlink), the kernel check, the wait for the daemon's acknowledged
// state, and the formatting of figures.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { askDaemon } from '../src/cli/control-client.js';
import type { WatchRequest, WatchResult } from './route-watch.js';

/** How a bench may run the daemon: what --profile needs (bench/profile.ts). */
export interface DaemonRunOptions {
  /** node's options for the daemon (--cpu-prof for the profile) */
  readonly nodeArgs?: readonly string[];
  /** called with the daemon's pid before the measured part and after it, the daemon still running */
  readonly around?: { before(pid: number): void; after(pid: number): void };
  /** how the daemon is stopped (SIGTERM lets --cpu-prof write its profiles) */
  readonly stopSignal?: NodeJS.Signals;
}

export const TABLE = 1000;
export const PROTOCOL = 200;
export const METRIC = 20;
/** 10.0.0.0, the first route of every bench */
export const FIRST_DST = 0x0a000000;

export const dst = (i: number): string => `10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
export const sec = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Routes in a table, by a dump (`ip route show`); ns undefined: the namespace this runs in. */
export function kernelCount(ns: string | undefined, table: number | string = TABLE): number {
  const r = spawnSync('sh', ['-c', `ip ${ns ? `-n ${ns} ` : ''}route show table ${table} | wc -l`], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

interface Status { routes: { desired: number; installed: number; pending: number; ownedInKernel: number } }

/**
 * Polls the daemon's status every `intervalMs` until it holds `want` routes, all written and
 * acknowledged by the kernel (ownedInKernel counts ACKed writes and dumps, not requests).
 * Answers the number of polls. status is a handful of counters (O(1) in the routes), so a
 * poll costs the daemon one control connection, not a walk of its table.
 */
export async function waitOwned(control: string, want: number, timeoutMs = 300_000, intervalMs = 20): Promise<number> {
  const t0 = Date.now();
  for (let polls = 1; ; polls++) {
    const s = (await askDaemon(control, { command: 'status' }, 30_000)) as Status;
    if (s.routes.ownedInKernel === want && s.routes.desired === want && s.routes.pending === 0) return polls;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out: ${JSON.stringify(s.routes)} (want ${want})`);
    await sleep(intervalMs);
  }
}

/** Polls the daemon's status until it knows its routes are gone from the kernel (a link went down). */
export async function waitOwnedGone(control: string, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const s = (await askDaemon(control, { command: 'status' }, 30_000)) as Status;
    if (s.routes.ownedInKernel === 0) return;
    if (Date.now() - t0 > timeoutMs) throw new Error(`the daemon still counts routes in the kernel after ${timeoutMs} ms: ${JSON.stringify(s.routes)}`);
    await sleep(10);
  }
}

export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

const WATCHER = fileURLToPath(new URL('./route-watch.js', import.meta.url));

/**
 * Starts bench/route-watch.ts in a namespace and waits until it is subscribed; result()
 * answers the epoch ms (performance.timeOrigin + now) at which each table was complete.
 */
export async function watchRoutes(ns: string, req: WatchRequest): Promise<{ result(): Promise<WatchResult> }> {
  const watcher = spawn('ip', ['netns', 'exec', ns, process.execPath, WATCHER, JSON.stringify(req)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  watcher.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => watcher.once('exit', r));
  const lines = createInterface({ input: watcher.stdout })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.value !== 'ready') throw new Error(`route watcher: ${String(first.value)} ${stderr.slice(-500)}`);
  return {
    async result() {
      const last = await lines.next();
      const exit = await exited;
      if (exit !== 0 || typeof last.value !== 'string') throw new Error(`route watcher exited ${exit}: ${stderr.slice(-500)}`);
      return JSON.parse(last.value) as WatchResult;
    },
  };
}
