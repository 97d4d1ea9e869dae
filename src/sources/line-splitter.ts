/** Splits a byte stream into lines, bounding memory: a line over the limit is reported, not kept. */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private discarding = false;

  constructor(private readonly maxLineBytes: number) {}

  *push(chunk: Buffer): Generator<{ text: string; tooLong: boolean }> {
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, from);
      if (nl < 0) break;
      const piece = chunk.subarray(from, nl);
      from = nl + 1;
      if (this.discarding || this.size + piece.length > this.maxLineBytes) {
        this.reset();
        yield { text: '', tooLong: true };
        continue;
      }
      const line = this.parts.length === 0 ? piece : Buffer.concat([...this.parts, piece]);
      this.reset();
      yield { text: line.toString('utf8'), tooLong: false };
    }
    const rest = chunk.subarray(from);
    if (rest.length === 0) return;
    if (this.discarding || this.size + rest.length > this.maxLineBytes) {
      this.parts = [];
      this.size = 0;
      this.discarding = true;
      return;
    }
    this.parts.push(Buffer.from(rest));
    this.size += rest.length;
  }

  private reset(): void {
    this.parts = [];
    this.size = 0;
    this.discarding = false;
  }
}
