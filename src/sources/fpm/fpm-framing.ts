// FPM framing (FRR's fpm.h): version (1), message type (1 = netlink), length (2, big-endian,
// including this 4-byte header), then one or more netlink messages. Streaming: a frame may
// arrive split across TCP reads at any byte.
const FPM_HEADER = 4;
const FPM_VERSION = 1;
const FPM_MSG_NETLINK = 1;
const FPM_MAX_LEN = 0xffff;

export class FpmFrameError extends Error {}

export class FpmFrameReader {
  private pending: Buffer = Buffer.alloc(0);

  /** Bytes held waiting for the rest of a frame (bounded by one frame, 64 KiB). */
  get buffered(): number {
    return this.pending.length;
  }

  /** The netlink payload of every complete frame, as Buffers of their own (tests, tools). */
  push(chunk: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    this.read(chunk, (buf, start, end) => frames.push(buf.subarray(start, end)));
    return frames;
  }

  /**
   * Calls onFrame with where each complete frame's netlink payload lies (no Buffer per frame:
   * a million-route replay is a million frames); the number of frames. Throws FpmFrameError
   * on a bad header, after the frames before it: the stream can no longer be trusted and the
   * connection must close.
   */
  read(chunk: Buffer, onFrame: (buf: Buffer, start: number, end: number) => void): number {
    const buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let frames = 0;
    let off = 0;
    while (buf.length - off >= FPM_HEADER) {
      const version = buf[off]!;
      const type = buf[off + 1]!;
      const len = buf.readUInt16BE(off + 2);
      if (version !== FPM_VERSION) throw new FpmFrameError(`FPM version ${version} at byte ${off} (expected 1)`);
      if (type !== FPM_MSG_NETLINK) throw new FpmFrameError(`FPM message type ${type} at byte ${off} (expected 1, netlink)`);
      if (len < FPM_HEADER + 16 || len > FPM_MAX_LEN) throw new FpmFrameError(`FPM frame length ${len} at byte ${off} cannot hold a netlink message`);
      if (buf.length - off < len) break;
      frames++;
      onFrame(buf, off + FPM_HEADER, off + len);
      off += len;
    }
    // Keep only the unfinished tail; copy so a big chunk is not pinned by a small tail.
    this.pending = off === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(off));
    return frames;
  }
}
