// Watches a namespace's IPv4 route events (RTNLGRP_IPV4_ROUTE) and says when each table it is
// given first holds `count` distinct prefixes of a protocol: the pipeline bench's clock for
// "all in zebra's main" and "all in our table", without dumps competing for the CPU. Run inside
// the namespace by bench/pipeline.ts:
//   ip netns exec NS node dist/bench/route-watch.js '{"count":200000,"tables":[{"table":254,"protocol":186}, ...]}'
// Prints "ready" once subscribed, then one JSON line: the epoch ms (performance.timeOrigin +
// now) at which each table was complete, in the order given. An overrun (events dropped) fails.
import { SO_RCVBUFFORCE, SOL_SOCKET, splitMessages } from '../src/kernel/netlink-codec.js';
import { openRouteSocket } from '../src/kernel/netlink-socket.js';
import { decodeRoute, RTM_NEWROUTE, RTNLGRP_IPV4_ROUTE } from '../src/kernel/rtnetlink-codec.js';
import { runBench } from './run-bench.js';

export interface WatchRequest {
  readonly count: number;
  readonly tables: readonly { readonly table: number; readonly protocol: number }[];
  readonly timeoutMs: number;
}

async function main(): Promise<void> {
  const req = JSON.parse(process.argv[2] ?? '') as WatchRequest;
  const seen = req.tables.map(() => new Set<number>());
  const doneAt: (number | undefined)[] = req.tables.map(() => undefined);
  let finish: (err?: Error) => void = () => {};
  const finished = new Promise<void>((resolve, reject) => (finish = (err) => (err ? reject(err) : resolve())));
  const sock = openRouteSocket({
    message(buf) {
      const now = performance.timeOrigin + performance.now();
      for (const m of splitMessages(buf).messages) {
        if (m.type !== RTM_NEWROUTE) continue;
        const r = decodeRoute(m);
        if (!r) continue;
        req.tables.forEach((t, i) => {
          if (doneAt[i] !== undefined || r.table !== t.table || r.protocol !== t.protocol) return;
          seen[i]!.add(r.dst * 64 + r.dstLen);
          if (seen[i]!.size >= req.count) doneAt[i] = now;
        });
      }
      if (doneAt.every((d) => d !== undefined)) finish();
    },
    overrun: () => finish(new Error('route events dropped (ENOBUFS): the count would be wrong')),
    error: (err) => finish(err),
  });
  try {
    sock.setIntOption(SOL_SOCKET, SO_RCVBUFFORCE, 256 << 20);
    sock.joinGroup(RTNLGRP_IPV4_ROUTE);
    console.log('ready');
    const timer = setTimeout(() => finish(new Error(`timed out after ${req.timeoutMs} ms: ${seen.map((s) => s.size).join(', ')} of ${req.count}`)), req.timeoutMs);
    await finished;
    clearTimeout(timer);
    console.log(JSON.stringify({ doneAt }));
  } finally {
    sock.close();
  }
}

runBench(main);
