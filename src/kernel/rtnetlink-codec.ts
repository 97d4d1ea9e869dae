// rtnetlink payloads, pure: routes (rtmsg), neighbours (ndmsg), links (ifinfomsg), FIB
// rules (fib_rule_hdr).
// Hand-written because netlink@0.3.0 cannot take table ids > 255 in rtmsg, mis-sizes
// RTA_VIA (and then rejects whole dumps), leaves RTA_MULTIPATH raw, and its per-message
// allocations cap installs near 45k routes/s (measured before this codec was written).
// One import for the codecs of every rtnetlink family, each in its own module.
export * from './rtnetlink-types.js';
export * from './route-codec.js';
export * from './route-scan.js';
export * from './neigh-link-codec.js';
export * from './nexthop-codec.js';
export * from './rule-codec.js';
