// MAC addresses as canonical lower-case "aa:bb:cc:dd:ee:ff" strings: cheap to compare,
// log and key maps by; bytes only at the netlink boundary.
export type Mac = string & { readonly __brand: 'Mac' };

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

export function parseMac(text: string): Mac | undefined {
  const t = text.trim().toLowerCase().replace(/-/g, ':');
  return MAC_RE.test(t) ? (t as Mac) : undefined;
}

export function macFromBytes(bytes: Uint8Array): Mac | undefined {
  if (bytes.length !== 6) return undefined;
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':') as Mac;
}

export function macToBytes(mac: Mac): Buffer {
  return Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
}

/** Multicast (group bit) or all-zero MACs can never be a unicast peer. */
export function isUnicastMac(mac: Mac): boolean {
  const first = parseInt(mac.slice(0, 2), 16);
  return (first & 0x01) === 0 && mac !== '00:00:00:00:00:00';
}
