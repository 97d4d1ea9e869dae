// Watches a namespace's IPv4 route events (RTNLGRP_IPV4_ROUTE) and says when each table it is
// given first holds `count` distinct /32s of a protocol, counting from `firstDst`: the
// pipeline bench's clock for "all in zebra's main" and "all in our table", and the second
// clock of the link flap, without dumps competing for the CPU. Run inside the namespace:
//   ip netns exec NS node dist/bench/route-watch.js '{"count":200000,"firstDst":167772160,"tables":[{"table":254,"protocol":186}, ...],"timeoutMs":600000}'
// Prints "ready" once subscribed, then one JSON line: the epoch ms (performance.timeOrigin +
// now) at which each table was complete, in the order given, the time of the first datagram
// read, how many datagrams and messages were read, and its own CPU. An overrun (events
// dropped) fails.
//
// It is made to cost as little as it can, since it shares the CPUs with what it times: a big
// receive buffer (256 MiB, SO_RCVBUFFORCE), each datagram read with one recvmsg into a fixed
// buffer (no MSG_PEEK first: route events are a few hundred bytes), the time taken once per
// datagram as it is read, and the messages counted at fixed offsets (route-event-count.ts).
// So it talks to the `netlink` package itself rather than through src/kernel/netlink-socket.ts,
// which peeks; the patched binding's setSockOptInt is what sets SO_RCVBUFFORCE.
import { RawNetlinkSocket } from 'netlink';
import { SO_RCVBUFFORCE, SOL_SOCKET } from '../src/kernel/netlink-codec.js';
import { RTNLGRP_IPV4_ROUTE } from '../src/kernel/rtnetlink-codec.js';
import { RouteEventCounter, type CountedTable } from './route-event-count.js';
import { runBench } from './run-bench.js';

export interface WatchRequest {
  readonly count: number;
  /** the first prefix's address, host order (bench-kit's FIRST_DST) */
  readonly firstDst: number;
  readonly tables: readonly CountedTable[];
  readonly timeoutMs: number;
}

export interface WatchResult {
  /** epoch ms at which each table was complete */
  readonly doneAt: number[];
  /** epoch ms of the first datagram read */
  readonly firstAt: number | undefined;
  readonly datagrams: number;
  readonly messages: number;
  /** the watcher's own CPU from its start to the end (process.cpuUsage): what it took from the machine */
  readonly cpu: { readonly userMs: number; readonly sysMs: number };
}

const NETLINK_ROUTE = 0;
/** route events of a few legs are 100-200 bytes; a longer one arrives truncated and fails the watch (8 KiB buffers cost a fifth more CPU: external memory the GC has to see) */
const READ_BYTES = 1024;

async function main(): Promise<void> {
  const req = JSON.parse(process.argv[2] ?? '') as WatchRequest;
  const counter = new RouteEventCounter(req.tables, req.firstDst, req.count);
  let firstAt: number | undefined;
  let finish: (err?: Error) => void = () => {};
  const finished = new Promise<void>((resolve, reject) => (finish = (err) => (err ? reject(err) : resolve())));
  const sock = new RawNetlinkSocket(NETLINK_ROUTE, { messagePeeking: false, msgBufferSize: READ_BYTES, recvBufferSize: 0, sendBufferSize: 0 });
  const origin = performance.timeOrigin;
  sock.on('message', (buf: Buffer) => {
    const now = origin + performance.now();
    firstAt ??= now;
    counter.add(buf, now);
    if (counter.complete) finish();
  });
  sock.on('truncatedMessage', () => finish(new Error(`a route event longer than ${READ_BYTES} bytes: the count would be wrong`)));
  // the patched binding reports an overrun as ENOBUFS (see src/kernel/netlink-socket.ts)
  sock.on('error', (err: Error & { code?: string }) => finish(err.code === 'ENOBUFS' ? new Error('route events dropped (ENOBUFS): the count would be wrong') : err));
  try {
    (sock as unknown as { __native: { setSockOptInt(level: number, name: number, value: number): void } }).__native.setSockOptInt(SOL_SOCKET, SO_RCVBUFFORCE, 256 << 20);
    sock.addMembership(RTNLGRP_IPV4_ROUTE);
    console.log('ready');
    const timer = setTimeout(() => finish(new Error(`timed out after ${req.timeoutMs} ms: ${counter.seen.join(', ')} of ${req.count}`)), req.timeoutMs);
    await finished;
    clearTimeout(timer);
    const cpu = process.cpuUsage();
    const result: WatchResult = { doneAt: counter.doneAt as number[], firstAt, datagrams: counter.datagrams, messages: counter.messages, cpu: { userMs: cpu.user / 1000, sysMs: cpu.system / 1000 } };
    console.log(JSON.stringify(result));
  } finally {
    sock.close();
  }
}

runBench(main);
