import { linkLocalFromBytes, linkLocalToBytes, type LinkLocal } from './link-local.js';
import { macFromBytes, macToBytes, type Mac } from './mac.js';

// Modified EUI-64 (RFC 4291 appendix A): interface id = MAC[0..2] ++ ff:fe ++ MAC[3..5],
// with the universal/local bit (0x02 of the first byte) flipped.

/**
 * The MAC a link-local would carry if it were EUI-64 derived, or undefined when its
 * interface id has no ff:fe in the middle (stable-privacy, random, manual): then the
 * address says nothing about the MAC and guessing would black-hole traffic.
 */
export function macFromLinkLocal(ll: LinkLocal): Mac | undefined {
  const b = linkLocalToBytes(ll);
  if (b[11] !== 0xff || b[12] !== 0xfe) return undefined;
  return macFromBytes(Uint8Array.of(b[8]! ^ 0x02, b[9]!, b[10]!, b[13]!, b[14]!, b[15]!));
}

export function linkLocalFromMac(mac: Mac): LinkLocal {
  const m = macToBytes(mac);
  const b = Buffer.alloc(16);
  b[0] = 0xfe;
  b[1] = 0x80;
  b[8] = m[0]! ^ 0x02;
  b[9] = m[1]!;
  b[10] = m[2]!;
  b[11] = 0xff;
  b[12] = 0xfe;
  b[13] = m[3]!;
  b[14] = m[4]!;
  b[15] = m[5]!;
  return linkLocalFromBytes(b);
}
