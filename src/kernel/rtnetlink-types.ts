// rtnetlink numbers and the shapes of what the codecs read and write (include/uapi/linux/rtnetlink.h,
// neighbour.h, if_link.h).
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;
export const RTM_NEWNEIGH = 28;
export const RTM_DELNEIGH = 29;
export const RTM_GETNEIGH = 30;

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 10;

export const RTA_DST = 1;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;
export const RTA_MULTIPATH = 9;
export const RTA_TABLE = 15;
export const RTA_VIA = 18;
export const RTA_NH_ID = 30;

export const RTNH_F_ONLINK = 4;
export const RTNH_F_LINKDOWN = 16;

export const RTN_UNICAST = 1;
export const RTN_LOCAL = 2;
export const RTN_BROADCAST = 3;
export const RTN_ANYCAST = 4;
export const RTN_MULTICAST = 5;
export const RTN_BLACKHOLE = 6;
export const RTN_UNREACHABLE = 7;
export const RTN_PROHIBIT = 8;
/** ends the lookup in this table as if nothing matched: the next rule's table is tried */
export const RTN_THROW = 9;
export const RT_SCOPE_UNIVERSE = 0;
export const RT_TABLE_COMPAT = 252;

export const NDA_DST = 1;
export const NDA_LLADDR = 2;
export const NDA_PROTOCOL = 12;
export const NUD_INCOMPLETE = 0x01;
export const NUD_FAILED = 0x20;
export const NUD_NOARP = 0x40;
export const NUD_PERMANENT = 0x80;
export const NTF_USE = 0x01;

export const IFLA_ADDRESS = 1;
export const IFLA_IFNAME = 3;
export const IFLA_MASTER = 10;
export const IFLA_LINKINFO = 18;
export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
/** inside IFLA_INFO_DATA of a link of kind "vrf" */
export const IFLA_VRF_TABLE = 1;
export const IFF_UP = 0x1;
export const IFF_LOWER_UP = 0x10000;

export const RTNLGRP_LINK = 1;
export const RTNLGRP_NEIGH = 3;
export const RTNLGRP_IPV4_ROUTE = 7;
export const RTNLGRP_IPV4_RULE = 8;
export const RTNLGRP_NEXTHOP = 32;

/** One path of a route: out of `ifindex`, via an IPv4 gateway or (RTA_VIA) an IPv6 one. */
export interface RouteLeg {
  readonly ifindex: number;
  readonly gateway?: number;
  readonly via6?: Buffer;
  readonly flags: number; // RTNH_F_*
}

/** An IPv4 route as the kernel holds it, reduced to what the daemon reasons about. */
export interface KernelRoute {
  readonly table: number;
  readonly dst: number;
  readonly dstLen: number;
  readonly protocol: number;
  readonly metric: number;
  readonly type: number;
  readonly legs: readonly RouteLeg[];
  readonly nhId?: number;
  /** rtm_tos, when not 0 */
  readonly tos?: number;
}

export interface KernelNeighbour {
  readonly family: number;
  readonly ifindex: number;
  readonly state: number;
  readonly flags: number;
  readonly dst: Buffer;
  readonly lladdr?: Buffer;
  readonly protocol: number;
}

export interface KernelLink {
  readonly ifindex: number;
  readonly name: string;
  readonly flags: number;
  readonly mac?: Buffer;
  readonly kind?: string;
  readonly master?: number;
  /** a VRF device's routing table (IFLA_VRF_TABLE) */
  readonly vrfTable?: number;
}

export type Seq = number;
