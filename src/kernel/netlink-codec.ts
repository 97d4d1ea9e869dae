// Netlink framing, pure: nlmsghdr, attributes, NLMSG_ERROR with extack. The rtnetlink
// payloads (routes, neighbours, links) are in rtnetlink-codec.ts. Constants are spelled
// as the kernel spells them (include/uapi/linux/netlink.h).
import { getSystemErrorName } from 'node:util';
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;

export const NLM_F_REQUEST = 0x01;
export const NLM_F_ACK = 0x04;
export const NLM_F_DUMP_INTR = 0x10;
const NLM_F_ROOT = 0x100;
const NLM_F_MATCH = 0x200;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
// flags of an NLMSG_ERROR (acknowledgement)
export const NLM_F_CAPPED = 0x100;
export const NLM_F_ACK_TLVS = 0x200;

const NLMSGERR_ATTR_MSG = 1;

export const SOL_SOCKET = 1;
export const SO_SNDBUFFORCE = 32;
export const SO_RCVBUFFORCE = 33;
export const SOL_NETLINK = 270;
export const NETLINK_CAP_ACK = 10;
export const NETLINK_EXT_ACK = 11;
export const NETLINK_GET_STRICT_CHK = 12;

export const NLMSG_HDRLEN = 16;

const align4 = (n: number): number => (n + 3) & ~3;

/** One netlink message as a view into the buffer it arrived in (no copies). */
export interface NetlinkMessage {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
  readonly buf: Buffer;
  /** offset of the payload (just after nlmsghdr) */
  readonly start: number;
  /** offset just after the message */
  readonly end: number;
}

/** The message a MessageWalker hands out: one object, refilled for each message. */
class MessageView implements NetlinkMessage {
  type = 0;
  flags = 0;
  seq = 0;
  pid = 0;
  start = 0;
  end = 0;
  constructor(public buf: Buffer) {}
}

/**
 * Calls fn with each message of a datagram in turn, as one view refilled for the next and kept
 * for every datagram it walks (valid only during the call: a dump of a million routes made a
 * million message objects, and FPM's one-message frames a view each). walk() returns the reason
 * it stopped early, if it did, so one bad message does not hide the good ones before it.
 */
export class MessageWalker {
  private readonly view = new MessageView(Buffer.alloc(0));

  walk(buf: Buffer, fn: (m: NetlinkMessage) => void, from = 0, to = buf.length): string | undefined {
    const m = this.view;
    m.buf = buf;
    let off = from;
    while (off + NLMSG_HDRLEN <= to) {
      const len = buf.readUInt32LE(off);
      if (len < NLMSG_HDRLEN || off + len > to) return `nlmsg_len ${len} at offset ${off - from} does not fit in ${to - from} bytes`;
      m.type = buf.readUInt16LE(off + 4);
      m.flags = buf.readUInt16LE(off + 6);
      m.seq = buf.readUInt32LE(off + 8);
      m.pid = buf.readUInt32LE(off + 12);
      m.start = off + NLMSG_HDRLEN;
      m.end = off + len;
      fn(m);
      off += align4(len);
    }
    if (off < to && to - off >= 4 && off + NLMSG_HDRLEN > to) return `${to - off} trailing bytes after the last message`;
    return undefined;
  }
}

/** The messages of a datagram as values of their own (views into `buf`), and where it stopped early. */
export function splitMessages(buf: Buffer, from = 0, to = buf.length): { messages: NetlinkMessage[]; error?: string } {
  const messages: NetlinkMessage[] = [];
  const error = new MessageWalker().walk(buf, (m) => messages.push({ type: m.type, flags: m.flags, seq: m.seq, pid: m.pid, buf, start: m.start, end: m.end }), from, to);
  return error === undefined ? { messages } : { messages, error };
}

/** Calls fn(type, dataStart, dataEnd) for each attribute in [from, to). Throws on a bad length. */
export function forEachAttr(buf: Buffer, from: number, to: number, fn: (type: number, start: number, end: number) => void): void {
  let off = from;
  while (off + 4 <= to) {
    const len = buf.readUInt16LE(off);
    const type = buf.readUInt16LE(off + 2) & 0x3fff; // drop NLA_F_NESTED / NLA_F_NET_BYTEORDER
    if (len < 4 || off + len > to) throw new RangeError(`attribute ${type} length ${len} overruns its message`);
    fn(type, off + 4, off + len);
    off += align4(len);
  }
}

/** Netlink sequence numbers, handed out in contiguous ranges (a batch's seqs never wrap). */
export class SequenceNumbers {
  private next = (Math.random() * 0x7fffffff) >>> 0;

  allocate(count = 1): number {
    const first = this.next;
    this.next = (this.next + count) >>> 0;
    if (this.next < first) {
      // wrapped: keep batches contiguous so seq ranges stay comparable
      this.next = count;
      return 0;
    }
    return first;
  }
}

/** A growable writer for building many messages into one buffer for one sendmsg. */
export class MessageWriter {
  private buf: Buffer;
  private off = 0;
  private msgStart = -1;

  constructor(initialBytes = 64 * 1024) {
    this.buf = Buffer.alloc(initialBytes);
  }

  get length(): number {
    return this.off;
  }

  private ensure(n: number): void {
    if (this.off + n <= this.buf.length) return;
    const next = this.fresh(Math.max(this.buf.length * 2, this.off + n));
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }

  /** buffers handed back by adopt(), to write the next batches into */
  private spares: ArrayBuffer[] = [];

  /** A buffer of its own ArrayBuffer (never the shared pool's: it may be transferred). */
  private fresh(bytes: number): Buffer {
    while (this.spares.length > 0) {
      const ab = this.spares.pop()!;
      if (ab.byteLength >= bytes) return Buffer.from(ab);
    }
    return Buffer.alloc(bytes);
  }

  /**
   * The messages written so far, without a copy: the view owns its ArrayBuffer whole, so it
   * can be transferred to another thread; the writer goes on in another buffer.
   */
  detach(): Buffer {
    const out = this.buf.subarray(0, this.off);
    this.buf = this.fresh(this.buf.length);
    this.off = 0;
    return out;
  }

  /** Takes back a buffer detach() gave out (transferred back), to reuse. */
  adopt(ab: ArrayBuffer): void {
    if (this.spares.length < 4) this.spares.push(ab);
  }

  /**
   * Room for `n` bytes of a whole message written by the caller (the hot route path);
   * returns the buffer and the offset to write at. Valid until the next call.
   */
  reserve(n: number): { buf: Buffer; at: number } {
    this.ensure(n);
    const at = this.off;
    this.off += n;
    return { buf: this.buf, at };
  }

  begin(type: number, flags: number, seq: number): this {
    this.ensure(NLMSG_HDRLEN);
    this.msgStart = this.off;
    this.buf.fill(0, this.off, this.off + NLMSG_HDRLEN);
    this.buf.writeUInt16LE(type, this.off + 4);
    this.buf.writeUInt16LE(flags, this.off + 6);
    this.buf.writeUInt32LE(seq >>> 0, this.off + 8);
    this.off += NLMSG_HDRLEN;
    return this;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf.writeUInt8(v, this.off);
    this.off += 1;
    return this;
  }

  u16(v: number): this {
    this.ensure(2);
    this.buf.writeUInt16LE(v, this.off);
    this.off += 2;
    return this;
  }

  u32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.off);
    this.off += 4;
    return this;
  }

  i32(v: number): this {
    this.ensure(4);
    this.buf.writeInt32LE(v, this.off);
    this.off += 4;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.off);
    this.off += b.length;
    return this;
  }

  pad(): this {
    const n = align4(this.off) - this.off;
    this.ensure(n);
    this.buf.fill(0, this.off, this.off + n);
    this.off += n;
    return this;
  }

  attrU32(type: number, v: number): this {
    return this.u16(8).u16(type).u32(v);
  }

  /** IPv4 addresses go on the wire in network byte order. */
  attrIpv4(type: number, addr: number): this {
    this.ensure(8);
    this.u16(8).u16(type);
    this.buf.writeUInt32BE(addr >>> 0, this.off);
    this.off += 4;
    return this;
  }

  attrBytes(type: number, b: Uint8Array): this {
    return this.u16(4 + b.length).u16(type).bytes(b).pad();
  }

  /** Starts a nested or variable-size region; returns its offset for closeLength(). */
  mark(): number {
    return this.off;
  }

  /** Writes a u16 length of [at, here) at `at` (rtattr and rtnexthop both start with one). */
  closeLength(at: number): this {
    this.buf.writeUInt16LE(this.off - at, at);
    return this;
  }

  end(): this {
    if (this.msgStart < 0) throw new Error('end() without begin()');
    this.pad();
    this.buf.writeUInt32LE(this.off - this.msgStart, this.msgStart);
    this.msgStart = -1;
    return this;
  }

  /** The bytes written so far (a copy, so the writer can be reused). */
  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.off));
    this.off = 0;
    return out;
  }
}

export interface NetlinkAck {
  /** 0 for an ACK, a positive errno for a failure */
  readonly errno: number;
  /** seq of the request it answers */
  readonly seq: number;
  /** the kernel's extended-ack text, when NETLINK_EXT_ACK is on and it gave one */
  readonly extack?: string;
}

export function decodeAck(m: NetlinkMessage): NetlinkAck {
  const { buf, start, end } = m;
  if (end - start < 4 + NLMSG_HDRLEN) throw new RangeError('NLMSG_ERROR too short');
  const errno = 0 - buf.readInt32LE(start); // not -x: an ACK is +0, not -0
  const seq = buf.readUInt32LE(start + 4 + 8);
  let extack: string | undefined;
  if (m.flags & NLM_F_ACK_TLVS) {
    const origLen = buf.readUInt32LE(start + 4);
    const tlvStart = start + 4 + (m.flags & NLM_F_CAPPED ? NLMSG_HDRLEN : align4(origLen));
    try {
      forEachAttr(buf, tlvStart, end, (type, s, e) => {
        if (type === NLMSGERR_ATTR_MSG) extack = buf.toString('utf8', s, e).replace(/\0+$/, '');
      });
    } catch {
      /* extack is a courtesy; an odd TLV must not hide the errno */
    }
  }
  return extack === undefined ? { errno, seq } : { errno, seq, extack };
}

/** "EEXIST" for 17: libuv's table (Node's), the kernel's extack text is added by the callers. */
export function errnoName(errno: number): string {
  const name = Number.isInteger(errno) && errno > 0 ? getSystemErrorName(-errno) : '';
  return name.startsWith('E') ? name : `errno ${errno}`;
}
