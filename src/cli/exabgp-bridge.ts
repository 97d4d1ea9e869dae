// `rfc5549d exabgp`: the process ExaBGP runs (`process … { run …; encoder json; }`). Reads
// ExaBGP's JSON messages on stdin, keeps what each neighbour announced (route-book.ts) and
// feeds the daemon's JSON-lines socket. Never writes to stdout: ExaBGP reads a process's
// stdout as API commands, and takes a closed stdout for a dead process. Errors go to stderr,
// which ExaBGP logs.
import { networkInterfaces } from 'node:os';
import { createConnection, type Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { LogThrottle } from '../log.js';
import { parseLinkLocal } from '../model/link-local.js';
import { LineSplitter } from '../sources/line-splitter.js';
import { parseExabgpLine, DEFAULT_MESSAGE_LIMITS } from '../exabgp/message.js';
import { interfaceFor, type NeighbourMapping } from '../exabgp/neighbour-map.js';
import { RouteBook, type JsonlOp } from '../exabgp/route-book.js';

export interface BridgeOptions {
  /** the daemon's JSON-lines socket (sources.jsonl.socket) */
  readonly socket: string;
  readonly neighbours: NeighbourMapping;
  readonly table?: number;
  readonly maxLineBytes: number;
  readonly maxRoutes: number;
  readonly maxNeighbours: number;
}

export interface BridgeIo {
  readonly input: Readable;
  readonly errors: Writable;
}

const RECONNECT_FIRST_MS = 200;
const RECONNECT_MAX_MS = 5000;
const FLUSH_ON_EXIT_MS = 2000;
const WRITE_SLICE = 1000;

/** The interfaces holding an IPv6 address, as the kernel has them now. */
function interfacesHolding(addr: string): string[] {
  const out: string[] = [];
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    const holds = addrs?.some((a) => {
      const ll = a.family === 'IPv6' ? parseLinkLocal(a.address.split('%')[0]!) : undefined;
      return ll?.ok === true && ll.value === addr;
    });
    if (holds) out.push(name);
  }
  return out;
}

/** The connection to the daemon: reconnects with backoff, replays on every reconnect. */
class DaemonLink {
  private sock: Socket | undefined;
  private connected = false;
  private everConnected = false;
  private delayMs = RECONNECT_FIRST_MS;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  /** one line per outage, not one per retry */
  private outageReported = false;

  constructor(
    private readonly path: string,
    /** the ops that bring a fresh connection up to date (first: never connected before) */
    private readonly greeting: (first: boolean) => JsonlOp[],
    private readonly say: (key: string, text: string) => void,
    private readonly onDrain: () => void,
  ) {}

  start(): void {
    this.dial();
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** false: the socket's buffer is full, wait for onDrain. Ops while disconnected are not
   * kept: the book holds the state and the next connection gets it whole. */
  send(ops: readonly JsonlOp[]): boolean {
    if (!this.connected || !this.sock) return true;
    let room = true;
    // in slices: a replay of a million routes as one string would be ~100 MB at once
    for (let i = 0; i < ops.length; i += WRITE_SLICE) {
      room = this.sock.write(ops.slice(i, i + WRITE_SLICE).map((o) => `${JSON.stringify(o)}\n`).join(''));
    }
    return room;
  }

  /** Ends the connection after what was written has gone, or after a bound. */
  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.timer);
    const sock = this.sock;
    if (!sock || sock.destroyed) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        sock.destroy();
        resolve();
      }, FLUSH_ON_EXIT_MS);
      sock.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      sock.end();
    });
  }

  private dial(): void {
    if (this.closing) return;
    const sock = createConnection(this.path);
    this.sock = sock;
    const replies = new LineSplitter(65536);
    sock.on('connect', () => {
      this.connected = true;
      this.outageReported = false;
      this.delayMs = RECONNECT_FIRST_MS;
      const first = !this.everConnected;
      this.everConnected = true;
      const ops = this.greeting(first);
      this.say('link', `connected to ${this.path}${first ? '' : `, replaying ${Math.max(0, ops.length - 2)} routes`}`);
      if (!this.send(ops)) sock.once('drain', this.onDrain);
    });
    sock.on('drain', this.onDrain);
    sock.on('data', (d: Buffer) =>
      replies.push(d, (line, tooLong) => {
        if (tooLong || line.trim() === '') return;
        // the daemon answers only refused lines: {"error","code","line"}
        this.say('reply', `the daemon refused a line: ${line.slice(0, 300)}`);
      }),
    );
    sock.on('error', (err) => {
      if (this.outageReported) return;
      this.outageReported = true;
      this.say('link', `${this.path}: ${err.message}; retrying every ${RECONNECT_MAX_MS / 1000} s at most, replaying on return`);
    });
    sock.on('close', () => {
      const was = this.connected;
      this.connected = false;
      if (this.closing) return;
      if (was) this.say('link', `${this.path}: the daemon went away; reconnecting`);
      this.timer = setTimeout(() => this.dial(), this.delayMs);
      this.delayMs = Math.min(this.delayMs * 2, RECONNECT_MAX_MS);
    });
  }
}

/** Runs until ExaBGP closes our stdin or we are signalled; resolves with the exit code. */
export async function runExabgpBridge(opts: BridgeOptions, io: BridgeIo = { input: process.stdin, errors: process.stderr }): Promise<number> {
  const throttle = new LogThrottle(20, 10_000);
  const say = (_key: string, text: string): void => {
    const dropped = throttle.admit();
    if (dropped === undefined) return;
    io.errors.write(`rfc5549d exabgp: ${text}${dropped > 0 ? ` (${dropped} messages not shown)` : ''}\n`);
  };
  const book = new RouteBook({
    interfaceOf: (n) => interfaceFor(n, opts.neighbours, interfacesHolding),
    maxRoutes: opts.maxRoutes,
    maxNeighbours: opts.maxNeighbours,
    ...(opts.table === undefined ? {} : { table: opts.table }),
  });
  const flushNotes = (): void => {
    for (const n of book.notes.splice(0)) say(n.key, n.text);
  };
  // a full socket buffer pauses our reading, so ExaBGP's pipe is what absorbs a burst
  const link = new DaemonLink(opts.socket, (first) => (first ? book.current() : book.replay()), say, () => io.input.resume());
  const splitter = new LineSplitter(opts.maxLineBytes);
  let tooLong = 0;

  let finish: (code: number) => void = () => {};
  const done = new Promise<number>((r) => (finish = r));
  let stopping = false;
  const stop = async (why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    const ops = book.withdrawAll();
    link.send(ops);
    const c = book.counters;
    io.errors.write(
      `rfc5549d exabgp: ${why}; withdrew ${ops.length} prefixes; ${c.messages} messages, ${c.announced} announced, ${c.withdrawn} withdrawn, ` +
        `${c.neighbourDowns} neighbour downs, ${c.invalid + tooLong} invalid, ignored ${JSON.stringify(c.ignored)}, unusable ${JSON.stringify(c.unusable)}, refused ${c.refused}\n`,
    );
    await link.close();
    finish(0);
  };

  io.input.on('data', (chunk: Buffer) => {
    if (stopping) return;
    splitter.push(chunk, (line, long) => {
      if (long) {
        tooLong++;
        say('long', `ignored a message longer than ${opts.maxLineBytes} bytes`);
        return;
      }
      const text = line.trim();
      if (text === '') return;
      let ops: JsonlOp[];
      try {
        ops = book.apply(parseExabgpLine(text, DEFAULT_MESSAGE_LIMITS));
      } catch (err) {
        // a fault of ours on some input must not take down what the other lines hold
        say('fault', `could not handle a message (${(err as Error).message}): ${text.slice(0, 200)}`);
        return;
      }
      if (!link.send(ops)) io.input.pause();
    });
    flushNotes();
  });
  io.input.on('end', () => void stop('ExaBGP closed our input'));
  io.input.on('error', (err) => void stop(`reading from ExaBGP failed: ${err.message}`));
  const onSignal = (sig: NodeJS.Signals): void => void stop(`${sig}`);
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  link.start();
  const code = await done;
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  return code;
}
