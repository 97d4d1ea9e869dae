// Splits a byte stream into lines without decoding it: the JSON-lines source reads its
// canonical lines from the bytes (jsonl-bytes.ts) and decodes only the others. Memory is
// bounded: a line over the limit is reported once and not kept. A line is complete only at
// its newline, so a UTF-8 character is never cut (0x0a is never inside one).
const NEWLINE = 0x0a;

/** buf[from, to) is one line without its newline; tooLong lines come with from === to. */
export type ByteLineHandler = (buf: Buffer, from: number, to: number, tooLong: boolean) => void;

export class ByteLineSplitter {
  /** the start of a line cut by the end of a chunk, copied */
  private partial: Buffer[] = [];
  private partialBytes = 0;
  /** the line being read is over the limit: skip to its newline */
  private discarding = false;

  constructor(private readonly maxLineBytes: number) {}

  push(chunk: Buffer, onLine: ByteLineHandler): void {
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, from);
      if (nl < 0) break;
      if (this.discarding || this.partialBytes > 0) {
        const bytes = this.partialBytes + (nl - from);
        const over = this.discarding || bytes > this.maxLineBytes;
        this.partial.push(chunk.subarray(from, nl));
        const line = over ? undefined : Buffer.concat(this.partial, bytes);
        this.drop();
        if (line) onLine(line, 0, line.length, false);
        else onLine(chunk, 0, 0, true);
      } else if (nl - from > this.maxLineBytes) {
        onLine(chunk, 0, 0, true);
      } else {
        onLine(chunk, from, nl, false);
      }
      from = nl + 1;
    }
    if (from === chunk.length) return;
    const bytes = this.partialBytes + (chunk.length - from);
    if (this.discarding || bytes > this.maxLineBytes) {
      this.drop();
      this.discarding = true;
      return;
    }
    // copied: the caller may reuse the chunk's memory once push returns
    this.partial.push(Buffer.from(chunk.subarray(from)));
    this.partialBytes = bytes;
  }

  private drop(): void {
    this.partial = [];
    this.partialBytes = 0;
    this.discarding = false;
  }
}
