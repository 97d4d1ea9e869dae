// Hand-built FPM frames (a 4-byte FPM header around rtnetlink messages), for encodings
// zebra 8.4 does not send and for driving the FPM server without a zebra.
import { MessageWriter } from '../../src/kernel/netlink-codec.js';
import { RTN_UNICAST, type KernelRoute } from '../../src/kernel/rtnetlink-codec.js';

export const PEER_VIA = Buffer.from('fe800000000000000000000000000101', 'hex');

/** An IPv4 route of zebra's bgp protocol in the main table; dst 10.0.0.0/24 unless told. */
export const fpmRoute = (legs: KernelRoute['legs'], extra: Partial<KernelRoute> = {}): KernelRoute =>
  ({ table: 254, dst: 0x0a000000, dstLen: 24, protocol: 186, metric: 20, type: RTN_UNICAST, legs, ...extra });

export function fpmFrame(build: (w: MessageWriter) => void): Buffer {
  const w = new MessageWriter();
  build(w);
  const body = w.take();
  const h = Buffer.alloc(4);
  h[0] = 1; // FPM version
  h[1] = 1; // netlink payload
  h.writeUInt16BE(body.length + 4, 2);
  return Buffer.concat([h, body]);
}
