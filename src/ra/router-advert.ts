// Router advertisements (RFC 4861 4.2), pure: validation and the source link-layer
// address option. Anything malformed or suspicious is refused with a reason to count.
import { isLinkLocalBytes } from '../model/link-local.js';
import { isUnicastMac, macFromBytes, type Mac } from '../model/mac.js';

const ND_ROUTER_SOLICIT = 133;
export const ND_ROUTER_ADVERT = 134;
const ND_OPT_SOURCE_LINKADDR = 1;
const RA_HEADER = 16;

export type RaRejection = 'hop-limit' | 'source-not-link-local' | 'not-an-ra' | 'truncated' | 'bad-option-length' | 'bad-source-mac';

export type RaVerdict =
  | { readonly ok: true; readonly sourceMac: Mac | undefined; readonly routerLifetimeS: number }
  | { readonly ok: false; readonly reason: RaRejection };

/**
 * @param hopLimit the received hop limit, or -1 where the socket could not tell
 */
export function parseRouterAdvert(icmp: Buffer, source: Uint8Array, hopLimit: number): RaVerdict {
  // A neighbour-discovery packet that crossed a router (hop limit below 255) is forged.
  if (hopLimit !== -1 && hopLimit !== 255) return { ok: false, reason: 'hop-limit' };
  if (!isLinkLocalBytes(source)) return { ok: false, reason: 'source-not-link-local' };
  if (icmp.length < 2 || icmp[0] !== ND_ROUTER_ADVERT || icmp[1] !== 0) return { ok: false, reason: 'not-an-ra' };
  if (icmp.length < RA_HEADER) return { ok: false, reason: 'truncated' };
  let sourceMac: Mac | undefined;
  let off = RA_HEADER;
  while (off < icmp.length) {
    if (off + 2 > icmp.length) return { ok: false, reason: 'truncated' };
    const type = icmp[off]!;
    const len = icmp[off + 1]! * 8;
    // RFC 4861 4.6: a zero-length option must make the receiver discard the packet.
    if (len === 0) return { ok: false, reason: 'bad-option-length' };
    if (off + len > icmp.length) return { ok: false, reason: 'truncated' };
    if (type === ND_OPT_SOURCE_LINKADDR) {
      if (len !== 8) return { ok: false, reason: 'bad-option-length' }; // Ethernet: 6 bytes + 2
      const mac = macFromBytes(icmp.subarray(off + 2, off + 8));
      if (!mac || !isUnicastMac(mac)) return { ok: false, reason: 'bad-source-mac' };
      sourceMac = mac;
    }
    off += len;
  }
  return { ok: true, sourceMac, routerLifetimeS: icmp.readUInt16BE(6) };
}

/** A router solicitation with our source link-layer address, to learn a peer fast on link up. */
export function routerSolicitation(ourMac: Uint8Array): Buffer {
  const b = Buffer.alloc(16);
  b[0] = ND_ROUTER_SOLICIT; // code 0; the kernel fills in the checksum of raw ICMPv6
  b[8] = ND_OPT_SOURCE_LINKADDR;
  b[9] = 1;
  Buffer.from(ourMac).copy(b, 10, 0, 6);
  return b;
}

export const ALL_ROUTERS = Buffer.from('ff020000000000000000000000000002', 'hex');
