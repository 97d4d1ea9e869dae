// npm run bench -- --profile [fpm|jsonl]: where the daemon's time goes on the FPM or the
// JSON-lines path. One FPM replay (bench/fpm-replay.ts) or one JSON-lines install and
// withdraw (bench/install.ts), adds then deletes, with the daemon under node --cpu-prof (main
// thread and every worker write a profile at exit), the CPU of each of its threads read from
// /proc/<pid>/task/*/stat around the adds and deletes (user vs sys: the kernel's route work is sys time
// of the thread that calls sendmsg), and each profile's self time summed per stage by
// mapping profile nodes to the daemon's source files and functions (profile-stages.ts).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Topology } from '../test/helpers/netns.js';
import type { DaemonRunOptions } from './bench-kit.js';
import { measureFpmReplay } from './fpm-replay.js';
import { installAndWithdraw } from './install.js';
import { selfTimeByStage, STAGES, topFunctions, type CpuProfile } from './profile-stages.js';
import type { FpmEncoding } from './zebra-frames.js';

interface ThreadCpu { comm: string; utime: number; stime: number }
const TICK_MS = 10; // USER_HZ is 100 on Linux

function threads(pid: number): Map<number, ThreadCpu> {
  const out = new Map<number, ThreadCpu>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      // comm may hold spaces and parens: the fields after the last ')'
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), { comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), utime: Number(rest[11]), stime: Number(rest[12]) });
    } catch {
      /* the thread ended */
    }
  }
  return out;
}

const ms = (x: number) => `${Math.round(x).toLocaleString('en-US')} ms`;
const pct = (x: number, of: number) => `${of > 0 ? ((100 * x) / of).toFixed(0) : '0'}%`;

/** what is profiled: the FPM replay of one encoding, or the JSON-lines feed */
export type ProfiledRun = { readonly kind: 'fpm'; readonly encoding: FpmEncoding } | { readonly kind: 'jsonl' };

export async function profileDaemon(n: number, what: ProfiledRun, say: (s: string) => void): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'rfc5549d-prof-'));
  const topo = Topology.create();
  let before = new Map<number, ThreadCpu>();
  let after = new Map<number, ThreadCpu>();
  let daemonPid = 0;
  try {
    const t0 = performance.now();
    const opts: DaemonRunOptions = {
      nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
      around: {
        before: (pid) => ((daemonPid = pid), (before = threads(pid))),
        after: (pid) => (after = threads(pid)),
      },
      stopSignal: 'SIGTERM',
    };
    const r = what.kind === 'fpm' ? await measureFpmReplay(topo, n, what.encoding, opts) : await installAndWithdraw(topo, n, opts);
    const label = what.kind === 'fpm' ? `FPM ${what.encoding} replay` : 'JSON-lines install and withdraw';
    say(`profile: ${label} of ${n.toLocaleString('en-US')} routes under --cpu-prof: install ${ms(r.addMs)}, withdraw ${ms(r.delMs)} (${ms(performance.now() - t0)} with start and stop; profiling slows the daemon: ratios from here are not the bench's)`);
  } finally {
    topo.destroy();
  }
  try {
    // CPU per thread over the adds and deletes (fpm: from the replay client's start, frames built and sent, to the last delete acknowledged; jsonl: from the first line sent)
    // the main thread first, the profiler's own threads last
    const rank = (t: { tid: number; comm: string }) => (t.tid === daemonPid ? 0 : t.comm.startsWith('v8:Prof') ? 2 : 1);
    const rows = [...after].map(([tid, a]) => {
      const b = before.get(tid) ?? { utime: 0, stime: 0 };
      return { tid, comm: a.comm, user: (a.utime - b.utime) * TICK_MS, sys: (a.stime - b.stime) * TICK_MS };
    }).filter((t) => t.user + t.sys > 0).sort((x, y) => rank(x) - rank(y) || y.user + y.sys - (x.user + x.sys));
    say('');
    say('daemon CPU per thread during the adds and deletes (/proc/<pid>/task/*/stat): user / sys');
    rows.forEach((t, i) => {
      const role = t.tid === daemonPid ? 'main thread' : t.comm.startsWith('v8:Prof') ? 'the profiler (--cpu-prof)' : i === 1 ? 'request worker (the busiest other thread: the one calling sendmsg)' : 'other (V8 GC helpers, libuv)';
      if (i < 6) say(`  tid ${String(t.tid).padEnd(8)} ${t.comm.padEnd(10)} user ${ms(t.user).padStart(10)}  sys ${ms(t.sys).padStart(10)}  (${pct(t.sys, t.user + t.sys)} sys)  ${role}`);
    });
    const rest = rows.slice(6);
    if (rest.length) say(`  ${rest.length} more threads: user ${ms(rest.reduce((s, t) => s + t.user, 0))}, sys ${ms(rest.reduce((s, t) => s + t.sys, 0))}`);

    const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
    if (files.length === 0) throw new Error(`no .cpuprofile in ${dir}: did the daemon exit on SIGTERM within 5 s?`);
    for (const f of files) {
      const prof = JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile;
      const stages = selfTimeByStage(prof);
      const busy = Object.entries(stages).reduce((s, [st, v]) => (st === 'idle' ? s : s + v), 0);
      if (busy < 50) continue; // the config loader: a few ms at start
      const role = (stages.sendmsg ?? 0) > (stages.read ?? 0) && prof.nodes.some((nd) => nd.callFrame.url.includes('request-worker')) ? 'request worker' : 'main thread';
      say('');
      say(`${role} (${f}): ${ms(busy)} not idle, self time per stage`);
      for (const st of [...STAGES, 'hand-off', 'startup', 'gc', 'program', 'other'] as const) {
        const v = stages[st] ?? 0;
        if (v >= 1) say(`  ${st.padEnd(9)} ${ms(v).padStart(10)}  ${pct(v, busy).padStart(4)}`);
      }
      say('  top functions by self time:');
      for (const t of topFunctions(prof, 12)) say(`    ${ms(t.ms).padStart(10)}  ${t.stage.padEnd(8)} ${t.name}`);
    }
    say('');
    say('stages: read = the FPM or JSON-lines socket, framing and line splitting (node:net, fpm-server, fpm-framing, jsonl-server, line-splitter); parse = fpm-decode, fpm-session, the JSON-lines parsers, model, netlink decode; RIB = src/rib; plan = src/reconcile; encode = netlink message writing; sendmsg = the request worker\'s socket calls (their kernel work is the sys time above); hand-off = batches and ACKs between the threads (postMessage, message ports); startup = module loading at the daemon\'s start. Self time is sampled wall time while the thread runs JS: on a loaded machine it includes time the thread waited for a CPU, the /proc figures do not');
  } finally {
    if (!process.env.KEEP_PROFILES) rmSync(dir, { recursive: true, force: true });
    else say(`profiles kept in ${dir}`);
  }
}
