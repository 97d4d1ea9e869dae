import { StringDecoder } from 'node:string_decoder';

/**
 * Splits a byte stream into lines, bounding memory: a line over the limit is reported, not
 * kept. Each chunk is decoded once (StringDecoder keeps a character split across chunks
 * whole) and cut with indexOf: per-line Buffer slices cost a third of a million-line feed.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  private discarding = false;

  constructor(private readonly maxLineBytes: number) {}

  /** Calls onLine for every complete line in the chunk (text is '' when tooLong). */
  push(chunk: Buffer, onLine: (text: string, tooLong: boolean) => void): void {
    const text = this.decoder.write(chunk);
    let from = 0;
    for (;;) {
      const nl = text.indexOf('\n', from);
      if (nl < 0) break;
      let line = text.slice(from, nl);
      from = nl + 1;
      if (this.partial !== '') {
        line = this.partial + line;
        this.partial = '';
      }
      if (this.discarding || this.tooLong(line)) {
        this.discarding = false;
        onLine('', true);
        continue;
      }
      onLine(line, false);
    }
    if (from === text.length) return;
    const rest = this.partial + text.slice(from);
    if (this.discarding || this.tooLong(rest)) {
      this.partial = '';
      this.discarding = true;
      return;
    }
    this.partial = rest;
  }

  private tooLong(s: string): boolean {
    // UTF-16 units never outnumber UTF-8 bytes; count bytes only when it could matter.
    if (s.length > this.maxLineBytes) return true;
    return s.length * 3 > this.maxLineBytes && Buffer.byteLength(s) > this.maxLineBytes;
  }
}
