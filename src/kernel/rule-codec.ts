// FIB rules (include/uapi/linux/fib_rules.h). The daemon keeps one: `pref P lookup T proto
// ours`; FRA_PROTOCOL (Linux >= 4.17) marks it as ours, so no rule of anyone else's is ever
// written or deleted.
import { forEachAttr, MessageWriter, NLM_F_DUMP, NLM_F_REQUEST, type NetlinkMessage } from './netlink-codec.js';
import { exclusiveWriteFlags } from './route-codec.js';
import { AF_INET, type Seq } from './rtnetlink-types.js';
export const RTM_NEWRULE = 32;
export const RTM_DELRULE = 33;
const RTM_GETRULE = 34;
export const FRA_PRIORITY = 6;
export const FRA_TABLE = 15;
export const FRA_SUPPRESS_PREFIXLEN = 14;
export const FRA_PROTOCOL = 21;
export const FR_ACT_TO_TBL = 1;

/** An IPv4 policy rule, reduced to what tells ours apart. */
export interface KernelRule {
  readonly family: number;
  readonly priority: number;
  readonly table: number;
  readonly action: number;
  readonly protocol: number;
  /**
   * whether it selects packets by anything (from, to, tos, iif, oif, fwmark, not, ...): a
   * rule that does is not the plain `lookup T` rule we keep
   */
  readonly selective: boolean;
}

/** The rule we write: `pref P lookup T proto ours`, nothing else. */
export interface RuleWrite {
  readonly priority: number;
  readonly table: number;
  readonly protocol: number;
}

/**
 * RTM_NEWRULE with CREATE|EXCL (without EXCL the kernel adds a duplicate rule) or
 * RTM_DELRULE naming priority, table and protocol: the kernel deletes the first rule that
 * matches every attribute given, so a rule of another protocol is never the one removed.
 */
export function writeRule(w: MessageWriter, seq: Seq, r: RuleWrite, mode: 'create' | 'delete', ack: boolean): void {
  const flags = exclusiveWriteFlags(mode, ack);
  w.begin(mode === 'create' ? RTM_NEWRULE : RTM_DELRULE, flags, seq);
  // struct fib_rule_hdr: family, dst_len, src_len, tos, table, res1, res2, action; flags
  w.u8(AF_INET).u8(0).u8(0).u8(0).u8(r.table > 255 ? 0 : r.table).u8(0).u8(0).u8(FR_ACT_TO_TBL).u32(0);
  w.attrU32(FRA_PRIORITY, r.priority);
  w.attrU32(FRA_TABLE, r.table);
  w.attrBytes(FRA_PROTOCOL, Uint8Array.of(r.protocol));
  w.end();
}

export function writeRuleDump(w: MessageWriter, seq: Seq): void {
  w.begin(RTM_GETRULE, NLM_F_REQUEST | NLM_F_DUMP, seq);
  w.u8(AF_INET).u8(0).u8(0).u8(0).u8(0).u8(0).u8(0).u8(0).u32(0);
  w.end();
}

/** Attributes every dumped rule carries; any other one selects packets or acts otherwise. */
const PLAIN_RULE_ATTRS = new Set([FRA_PRIORITY, FRA_TABLE, FRA_PROTOCOL]);

export function decodeRule(m: NetlinkMessage): KernelRule {
  const { buf, start, end } = m;
  if (end - start < 12) throw new RangeError('fib_rule_hdr too short');
  let table = buf.readUInt8(start + 4);
  let priority = 0;
  let protocol = 0;
  // dst_len, src_len, tos; flags (FIB_RULE_INVERT and friends)
  let selective = buf[start + 1] !== 0 || buf[start + 2] !== 0 || buf[start + 3] !== 0 || buf.readUInt32LE(start + 8) !== 0;
  forEachAttr(buf, start + 12, end, (t, s, e) => {
    if (t === FRA_PRIORITY && e - s === 4) priority = buf.readUInt32LE(s);
    else if (t === FRA_TABLE && e - s === 4) table = buf.readUInt32LE(s);
    else if (t === FRA_PROTOCOL && e - s >= 1) protocol = buf.readUInt8(s);
    // the kernel reports suppress_prefixlen on every rule; -1 means unset
    else if (t === FRA_SUPPRESS_PREFIXLEN && e - s === 4 && buf.readInt32LE(s) === -1) return;
    else if (!PLAIN_RULE_ATTRS.has(t)) selective = true;
  });
  return { family: buf.readUInt8(start), priority, table, action: buf.readUInt8(start + 7), protocol, selective };
}
