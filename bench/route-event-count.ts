// The route watcher's counting (bench/route-watch.ts), pure so test/unit/route-event-count.test.ts
// can feed it kernel-format bytes. It reads each RTM_NEWROUTE at fixed offsets (nlmsghdr
// type, rtmsg family/dst_len/table/protocol, then only RTA_TABLE and RTA_DST among the
// attributes), decodes nothing else and allocates nothing per message: the watcher shares 2
// CPUs with the daemon it times, and the cost of decoding 100,000 events into objects was what
// it measured (it lagged the kernel by half a second at 100,000 routes).
// The benches' routes are /32s counting from one address (bench-kit's dst(i)): a prefix is
// counted once per table in a bitmap indexed by its distance from the first, so a replace
// (zebra rewriting a route) does not count twice.

const NLMSG_HDRLEN = 16;
const RTMSG_LEN = 12;
const RTM_NEWROUTE = 24;
const AF_INET = 2;
const RTA_DST = 1;
const RTA_TABLE = 15;
const NLA_TYPE_MASK = 0x3fff;
const align4 = (n: number) => (n + 3) & ~3;

export interface CountedTable {
  readonly table: number;
  readonly protocol: number;
}

export class RouteEventCounter {
  /** when each table first held `count` distinct prefixes (the `now` given with that datagram) */
  readonly doneAt: (number | undefined)[];
  private readonly held: Uint8Array[];
  private readonly distinct: number[];
  private left: number;
  datagrams = 0;
  messages = 0;

  /** firstDst: the first prefix's address (host order); prefixes firstDst .. firstDst + count - 1, /32 */
  constructor(private readonly tables: readonly CountedTable[], private readonly firstDst: number, private readonly count: number) {
    this.doneAt = tables.map(() => undefined);
    this.held = tables.map(() => new Uint8Array(count));
    this.distinct = tables.map(() => 0);
    this.left = tables.length;
  }

  /** distinct prefixes seen so far per table */
  get seen(): readonly number[] {
    return this.distinct;
  }

  get complete(): boolean {
    return this.left === 0;
  }

  /** One datagram as read (one or more netlink messages, host byte order). */
  add(buf: Buffer, now: number): void {
    this.datagrams++;
    let off = 0;
    while (off + NLMSG_HDRLEN <= buf.length) {
      const len = buf.readUInt32LE(off);
      if (len < NLMSG_HDRLEN || off + len > buf.length) return; // not a whole message: nothing more to trust
      this.messages++;
      if (buf.readUInt16LE(off + 4) === RTM_NEWROUTE && len >= NLMSG_HDRLEN + RTMSG_LEN) this.route(buf, off, off + len, now);
      off += align4(len);
    }
  }

  private route(buf: Buffer, start: number, end: number, now: number): void {
    const rtm = start + NLMSG_HDRLEN;
    if (buf[rtm] !== AF_INET || buf[rtm + 1] !== 32) return;
    let table = buf[rtm + 4]!;
    const protocol = buf[rtm + 5]!;
    let dst = -1;
    for (let a = rtm + RTMSG_LEN; a + 4 <= end;) {
      const alen = buf.readUInt16LE(a);
      if (alen < 4 || a + alen > end) return;
      const type = buf.readUInt16LE(a + 2) & NLA_TYPE_MASK;
      if (type === RTA_DST && alen >= 8) dst = buf.readUInt32BE(a + 4);
      else if (type === RTA_TABLE && alen >= 8) table = buf.readUInt32LE(a + 4);
      a += align4(alen);
    }
    if (dst < 0) return;
    const idx = (dst - this.firstDst) >>> 0;
    if (idx >= this.count) return;
    for (let i = 0; i < this.tables.length; i++) {
      const t = this.tables[i]!;
      if (t.table !== table || t.protocol !== protocol || this.held[i]![idx]) continue;
      this.held[i]![idx] = 1;
      if (++this.distinct[i]! === this.count) {
        this.doneAt[i] = now;
        this.left--;
      }
    }
  }
}
