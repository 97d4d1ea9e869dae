// Placeholder gateways: the IPv4 link-local addresses (169.254.0.0/16) a route of ours names
// as its next hop, each standing for one peer's IPv6 link-local behind a PERMANENT neighbour
// entry. Domain values shared by the kernel state, the FPM decoder and the planner.

/** 169.254.0.1: the placeholder zebra uses (as FPM shows it), and the first of the default gateway pool. */
export const PLACEHOLDER_GATEWAY = 0xa9fe0001;

/** Key of a placeholder: the pool lies inside 169.254.0.0/16, so its low 16 bits name it. */
export function placeholderKey(ifindex: number, gateway: number): number {
  return ifindex * 0x10000 + (gateway & 0xffff);
}
