// The key of a peer on a link, and of a next hop through it: `interface%link-local`. A
// link-local is only unique per interface, so the interface is part of every key; a next hop
// with no link-local yet (a peer not learnt) is `interface%`. One spelling, so that the peer
// table, the RIB's next-hop sets, the resolver and the sources key the same peer alike.
// (The status view prints `link-local%interface`, the scoped-address form operators read:
// that is a display string, not this key.)
export const peerKey = (ifname: string, linkLocal: string | undefined): string => `${ifname}%${linkLocal ?? ''}`;
