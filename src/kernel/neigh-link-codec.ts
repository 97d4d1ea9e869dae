// Neighbour (ndmsg) and link (ifinfomsg) messages.
import { forEachAttr, MessageWriter, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_REPLACE, NLM_F_REQUEST, type NetlinkMessage } from './netlink-codec.js';
import { RTM_GETLINK, RTM_NEWNEIGH, RTM_DELNEIGH, RTM_GETNEIGH, AF_UNSPEC, NDA_DST, NDA_LLADDR, NDA_PROTOCOL, IFLA_ADDRESS, IFLA_IFNAME, IFLA_MASTER, IFLA_LINKINFO, IFLA_INFO_KIND, IFLA_INFO_DATA, IFLA_VRF_TABLE, type KernelNeighbour, type KernelLink, type Seq } from './rtnetlink-types.js';

export function writeNeighbour(
  w: MessageWriter,
  seq: Seq,
  n: { family: number; ifindex: number; dst: Uint8Array; lladdr?: Uint8Array; state: number; flags: number; protocol?: number },
  op: 'replace' | 'delete',
  ack: boolean,
): void {
  const flags = NLM_F_REQUEST | (ack ? NLM_F_ACK : 0) | (op === 'replace' ? NLM_F_CREATE | NLM_F_REPLACE : 0);
  w.begin(op === 'replace' ? RTM_NEWNEIGH : RTM_DELNEIGH, flags, seq);
  w.u8(n.family).u8(0).u16(0).i32(n.ifindex).u16(n.state).u8(n.flags).u8(0);
  w.attrBytes(NDA_DST, n.dst);
  if (n.lladdr) w.attrBytes(NDA_LLADDR, n.lladdr);
  if (n.protocol !== undefined && n.protocol !== 0) w.attrBytes(NDA_PROTOCOL, Uint8Array.of(n.protocol));
  w.end();
}

export function writeNeighbourDump(w: MessageWriter, seq: Seq, family: number): void {
  w.begin(RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP, seq);
  w.u8(family).u8(0).u16(0).i32(0).u16(0).u8(0).u8(0);
  w.end();
}

export function decodeNeighbour(m: NetlinkMessage): KernelNeighbour {
  const { buf, start, end } = m;
  if (end - start < 12) throw new RangeError('ndmsg too short');
  let dst = Buffer.alloc(0);
  let lladdr: Buffer | undefined;
  let protocol = 0;
  forEachAttr(buf, start + 12, end, (t, s, e) => {
    if (t === NDA_DST) dst = Buffer.from(buf.subarray(s, e));
    else if (t === NDA_LLADDR) lladdr = Buffer.from(buf.subarray(s, e));
    else if (t === NDA_PROTOCOL && e > s) protocol = buf.readUInt8(s);
  });
  const n = {
    family: buf.readUInt8(start),
    ifindex: buf.readInt32LE(start + 4),
    state: buf.readUInt16LE(start + 8),
    flags: buf.readUInt8(start + 10),
    dst,
    protocol,
  };
  return lladdr ? { ...n, lladdr } : n;
}

export function writeLinkDump(w: MessageWriter, seq: Seq): void {
  w.begin(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq);
  w.u8(AF_UNSPEC).u8(0).u16(0).i32(0).u32(0).u32(0);
  w.end();
}

export function decodeLink(m: NetlinkMessage): KernelLink {
  const { buf, start, end } = m;
  if (end - start < 16) throw new RangeError('ifinfomsg too short');
  let name = '';
  let mac: Buffer | undefined;
  let kind: string | undefined;
  let master: number | undefined;
  let infoData: [number, number] | undefined;
  forEachAttr(buf, start + 16, end, (t, s, e) => {
    if (t === IFLA_IFNAME) name = buf.toString('utf8', s, e).replace(/\0+$/, '');
    else if (t === IFLA_ADDRESS) mac = Buffer.from(buf.subarray(s, e));
    else if (t === IFLA_MASTER && e - s === 4) master = buf.readUInt32LE(s);
    else if (t === IFLA_LINKINFO) {
      forEachAttr(buf, s, e, (it, is, ie) => {
        if (it === IFLA_INFO_KIND) kind = buf.toString('utf8', is, ie).replace(/\0+$/, '');
        else if (it === IFLA_INFO_DATA) infoData = [is, ie];
      });
    }
  });
  const link: { -readonly [K in keyof KernelLink]: KernelLink[K] } = {
    ifindex: buf.readInt32LE(start + 4),
    name,
    flags: buf.readUInt32LE(start + 8),
  };
  if (mac) link.mac = mac;
  if (kind !== undefined) link.kind = kind;
  if (master !== undefined) link.master = master;
  // IFLA_INFO_DATA's layout depends on the kind; only a VRF's is read.
  if (kind === 'vrf' && infoData) {
    forEachAttr(buf, infoData[0], infoData[1], (t, s, e) => {
      if (t === IFLA_VRF_TABLE && e - s === 4) link.vrfTable = buf.readUInt32LE(s);
    });
  }
  return link;
}
