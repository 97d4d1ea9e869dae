// The raw baseline of the install bench: the kernel's own cost of the same routes, with
// nothing of the daemon in between. Hand-encoded RTM_NEWROUTE / RTM_DELROUTE, BATCH per
// sendmsg, NLM_F_ACK only on the last of each batch, that ACK awaited before the next batch.
// Every message is encoded before the clock starts, so the time is sendmsg and the kernel.
// Run inside the namespace by bench/install.ts:
//   ip netns exec NS node dist/bench/raw-netlink.js add|del COUNT TABLE PROTOCOL METRIC DEV BATCH
// It prints one JSON line {"ms": ...}; a NACK or a socket error exits non-zero. RAW_TRACE=N
// also prints, to stderr, the time so far after every N routes (rounded to whole batches).
import { readFileSync } from 'node:fs';
import { MessageWriter, NETLINK_EXT_ACK, NLMSG_ERROR, SOL_NETLINK, SO_RCVBUFFORCE, SO_SNDBUFFORCE, SOL_SOCKET, decodeAck, errnoName, splitMessages } from '../src/kernel/netlink-codec.js';
import { openRouteSocket } from '../src/kernel/netlink-socket.js';
import { RTNH_F_ONLINK, RTN_UNICAST, writeDelRoute, writeNewRoute } from '../src/kernel/rtnetlink-codec.js';
import { runBench } from './run-bench.js';

/** 169.254.0.1, the daemon's first next-hop address, as bench/install.ts's ip -batch names it */
const GATEWAY = 0xa9fe0001;
/** dst(i) of bench/install.ts: 10.x.y.z counting from 10.0.0.0 */
const dstAddr = (i: number): number => (0x0a000000 + i) >>> 0;

function encode(op: 'add' | 'del', batch: number, count: number, table: number, protocol: number, metric: number, ifindex: number): { batches: Buffer[]; lastSeqs: number[] } {
  const batches: Buffer[] = [];
  const lastSeqs: number[] = [];
  const w = new MessageWriter(batch * 80);
  const legs = [{ ifindex, gateway: GATEWAY, flags: RTNH_F_ONLINK }];
  for (let i = 0; i < count; i++) {
    const seq = i + 1;
    const last = (i + 1) % batch === 0 || i === count - 1;
    const key = { table, dst: dstAddr(i), dstLen: 32, protocol, metric };
    if (op === 'add') writeNewRoute(w, seq, { ...key, type: RTN_UNICAST, legs }, 'create', last);
    else writeDelRoute(w, seq, key, last);
    if (last) {
      batches.push(w.take());
      lastSeqs.push(seq);
    }
  }
  return { batches, lastSeqs };
}

async function main(): Promise<void> {
  const [op, countArg, tableArg, protocolArg, metricArg, dev, batchArg] = process.argv.slice(2);
  if ((op !== 'add' && op !== 'del') || !dev || !/^[\w.-]{1,15}$/.test(dev)) throw new Error('usage: raw-netlink.js add|del COUNT TABLE PROTOCOL METRIC DEV BATCH');
  const [count, table, protocol, metric, batch] = [countArg, tableArg, protocolArg, metricArg, batchArg].map(Number) as [number, number, number, number, number];
  if (![count, table, protocol, metric, batch].every((n) => Number.isInteger(n) && n >= 0) || batch < 1) throw new Error('COUNT TABLE PROTOCOL METRIC BATCH: non-negative integers, BATCH >= 1');
  const ifindex = Number(readFileSync(`/sys/class/net/${dev}/ifindex`, 'utf8').trim());
  const { batches, lastSeqs } = encode(op, batch, count, table, protocol, metric, ifindex);

  let waiting: { seq: number; resolve: () => void; reject: (e: Error) => void } | undefined;
  let failure: Error | undefined;
  const fail = (e: Error) => {
    failure ??= e;
    waiting?.reject(e);
  };
  const sock = openRouteSocket({
    message(buf) {
      const { messages, error } = splitMessages(buf);
      if (error) fail(new Error(`bad datagram: ${error}`));
      for (const m of messages) {
        if (m.type !== NLMSG_ERROR) continue;
        const ack = decodeAck(m);
        // an error on any message of the batch arrives, ACK flag or not
        if (ack.errno !== 0) fail(new Error(`${op} seq ${ack.seq}: ${errnoName(ack.errno)}${ack.extack ? ` (${ack.extack})` : ''}`));
        else if (waiting && ack.seq === waiting.seq) waiting.resolve();
      }
    },
    overrun: () => fail(new Error('receive buffer overrun (ENOBUFS)')),
    error: (err) => fail(err),
  });
  try {
    sock.setIntOption(SOL_SOCKET, SO_SNDBUFFORCE, 8 << 20);
    sock.setIntOption(SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20);
    sock.setIntOption(SOL_NETLINK, NETLINK_EXT_ACK, 1); // the kernel's reason with a NACK
    const traceEvery = Number(process.env.RAW_TRACE ?? 0) || 0;
    const t0 = performance.now();
    for (let b = 0; b < batches.length; b++) {
      const acked = new Promise<void>((resolve, reject) => {
        waiting = { seq: lastSeqs[b]!, resolve, reject };
        if (failure) reject(failure);
      });
      sock.send(batches[b]!, (err) => {
        if (err) fail(err);
      });
      await acked;
      if (traceEvery > 0 && Math.floor(((b + 1) * batch) / traceEvery) > Math.floor((b * batch) / traceEvery)) {
        console.error(`${op} ${Math.min(count, (b + 1) * batch)} routes: ${(performance.now() - t0).toFixed(0)} ms`);
      }
    }
    const ms = performance.now() - t0;
    if (failure) throw failure;
    console.log(JSON.stringify({ ms, batches: batches.length }));
  } finally {
    sock.close();
  }
}

runBench(main);
