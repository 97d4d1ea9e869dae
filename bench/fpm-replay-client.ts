// The zebra side of the FPM replay bench, run inside the bench namespace by bench/fpm-replay.ts
// (the daemon's FPM listener is on that namespace's loopback):
//   ip netns exec NS node dist/bench/fpm-replay-client.js '{"encoding":"classic","count":1000000,...}'
// Builds every frame before the clock starts, dials in as zebra does (one TCP connection),
// writes the adds, waits until the daemon's acknowledged state holds them all, checks the
// kernel by a dump, then the same for the deletes. Prints one JSON line (ReplayResult).
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { FIRST_DST, kernelCount, rssMb, waitOwned } from './bench-kit.js';
import { runBench } from './run-bench.js';
import { FPM_ENCODINGS, zebraAdds, zebraDeletes, type FpmEncoding } from './zebra-frames.js';

export interface ReplayRequest {
  readonly encoding: FpmEncoding;
  readonly count: number;
  readonly port: number;
  /** the daemon's control socket (a path: reachable from any namespace) */
  readonly control: string;
  readonly daemonPid: number;
  readonly table: number;
  readonly dev: string;
  /** the peer's link-local on dev, as text */
  readonly peerLinkLocal: string;
}

export interface ReplayResult {
  addMs: number;
  delMs: number;
  /** the daemon's RSS with every route installed */
  rssMb: number;
  addBytes: number;
}

function linkLocalBytes(text: string): Buffer {
  const [head = '', tail = ''] = text.split('::');
  const words = (s: string) => (s ? s.split(':').map((w) => parseInt(w, 16)) : []);
  const h = words(head);
  const t = words(tail);
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  const b = Buffer.alloc(16);
  all.forEach((w, i) => b.writeUInt16BE(w, i * 2));
  return b;
}

async function writeAll(sock: Socket, chunks: readonly Buffer[]): Promise<void> {
  for (const c of chunks) if (!sock.write(c)) await new Promise((r) => sock.once('drain', r));
}

async function main(): Promise<void> {
  const req = JSON.parse(process.argv[2] ?? '') as ReplayRequest;
  if (!FPM_ENCODINGS.includes(req.encoding)) throw new Error(`encoding: one of ${FPM_ENCODINGS.join(', ')}`);
  const ifindex = Number(readFileSync(`/sys/class/net/${req.dev}/ifindex`, 'utf8').trim());
  const routes = { count: req.count, firstDst: FIRST_DST, dstLen: 32, ifindex, peerLinkLocal: linkLocalBytes(req.peerLinkLocal) };
  const adds = zebraAdds(req.encoding, routes);
  const dels = zebraDeletes(req.encoding, routes);

  const sock = connect({ host: '127.0.0.1', port: req.port });
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  sock.setNoDelay(true);
  const conn: { closed?: Error } = {};
  sock.on('error', (e) => (conn.closed = e));
  sock.on('close', () => (conn.closed ??= new Error('the daemon closed the FPM connection')));
  // a function, not the property: the events set it between the awaits
  const check = (): void => {
    if (conn.closed) throw conn.closed;
  };
  try {
    const t0 = performance.now();
    await writeAll(sock, adds);
    await waitOwned(req.control, req.count);
    const addMs = performance.now() - t0;
    check();
    const held = kernelCount(undefined, req.table);
    if (held !== req.count) throw new Error(`${req.encoding} install: the kernel holds ${held}, not ${req.count}`);
    const rss = rssMb(req.daemonPid);

    const t1 = performance.now();
    await writeAll(sock, dels);
    await waitOwned(req.control, 0);
    const delMs = performance.now() - t1;
    check();
    const left = kernelCount(undefined, req.table);
    if (left !== 0) throw new Error(`${req.encoding} withdraw: the kernel still holds ${left}`);
    const result: ReplayResult = { addMs, delMs, rssMb: rss, addBytes: adds.reduce((n, b) => n + b.length, 0) };
    console.log(JSON.stringify(result));
  } finally {
    sock.destroy();
  }
}

runBench(main);
