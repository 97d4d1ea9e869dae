// FPM decoding in-process, no kernel and no socket: zebra's frames (bench/zebra-frames.ts) in
// 64 KiB reads, as a TCP socket hands them over, through the daemon's own classes, the frame
// reader, the connection's frame decoder (as fpm-connection.ts wires them: frames read where
// they lie, one decoder per connection) and the connection's session, into a sink that only counts.
// What this measures is the FPM source's cost per message before the RIB.
import { FpmFrameDecoder } from '../src/sources/fpm/fpm-decode.js';
import { FpmFrameReader } from '../src/sources/fpm/fpm-framing.js';
import { FpmSession } from '../src/sources/fpm/fpm-session.js';
import { FIRST_DST } from './bench-kit.js';
import { addMessages, zebraAdds, zebraDeletes, type FpmEncoding } from './zebra-frames.js';

const READ_BYTES = 64 << 10;
const PEER_LL = Buffer.from('fe80000000000000000000fffe000101', 'hex');

export interface DecodeRate {
  /** messages per second, adds (nhg: the nexthop object too) */
  addPerSec: number;
  delPerSec: number;
}

function pass(enc: FpmEncoding, n: number): { addMs: number; delMs: number } {
  const routes = { count: n, firstDst: FIRST_DST, dstLen: 32, ifindex: 2, peerLinkLocal: PEER_LL };
  const adds = zebraAdds(enc, routes, READ_BYTES);
  const dels = zebraDeletes(enc, routes, READ_BYTES);
  let added = 0;
  let withdrawn = 0;
  const sink = {
    add: () => void added++,
    withdraw: () => void withdrawn++,
  };
  const session = new FpmSession('fpm#1', { protocols: new Set([186]), mainTable: 1000, ifname: (i) => (i === 2 ? 'h0' : undefined) }, sink);
  const reader = new FpmFrameReader();
  const decoder = new FpmFrameDecoder((item) => session.handle(item));
  const onFrame = (buf: Buffer, start: number, end: number): void => decoder.frame(buf, start, end);
  const feed = (chunks: Buffer[]) => {
    for (const c of chunks) reader.read(c, onFrame);
  };
  const t0 = performance.now();
  feed(adds);
  const addMs = performance.now() - t0;
  const t1 = performance.now();
  feed(dels);
  const delMs = performance.now() - t1;
  if (added !== n || withdrawn !== n) throw new Error(`FPM decode ${enc}: ${added} adds and ${withdrawn} withdrawals of ${n}`);
  return { addMs, delMs };
}

/** One warm-up pass of a tenth (the daemon decodes with a warm JIT too), then the timed one. */
export function measureFpmDecode(enc: FpmEncoding, n: number): DecodeRate {
  pass(enc, Math.max(1, Math.floor(n / 10)));
  const { addMs, delMs } = pass(enc, n);
  return { addPerSec: addMessages(enc, n) / (addMs / 1000), delPerSec: (n + (enc === 'nhg' ? 1 : 0)) / (delMs / 1000) };
}
