// Ownership by rtm_protocol: a route, neighbour entry, nexthop object or rule in the kernel
// is the daemon's exactly when it carries the daemon's protocol number (kernel.protocol).
// What is not ours is never changed or deleted, even for the same prefix; for routes the
// table narrows it further (the reconciler's owned tables).
export const isOurs = (kernelObject: { readonly protocol: number }, ourProtocol: number): boolean => kernelObject.protocol === ourProtocol;
