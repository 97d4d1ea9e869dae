// The JSON-lines route source on a Unix stream socket (or stdin with "-"). Each
// connection is a session; a bad line gets one error reply and changes nothing.
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { errorMessage, Rfc5549Error, type ErrorCode } from '../errors.js';
import { escapeText, excerpt } from '../excerpt.js';
import { prepareSocketPath } from '../runtime/socket-path.js';
import { LogThrottle, type Logger } from '../log.js';
import type { Rib } from '../rib/rib.js';
import type { VrfRoutes } from '../rib/vrf-routes.js';
import { ByteLineSplitter } from './byte-line-splitter.js';
import { SyncSignal, type RouteSource, type SourceTotals } from './route-source.js';
import { parseJsonLine, type JsonlContext } from './jsonl-parse.js';
import { FastLineCache } from './jsonl-fast.js';
import { CanonicalLineReader, LINE_ADD, LINE_OTHER, type CanonicalKind } from './jsonl-bytes.js';
import type { DesiredRoute } from '../rib/route.js';

const JSONL_SOURCE = 'jsonl';

/** A refusal of one line: a reply to the client and a rate-limited log line. */
type Answer = (line: number, field: string, error: string, code?: ErrorCode) => void;

export interface JsonlSourceOptions {
  readonly socket: string;
  readonly withdrawOnDisconnect: boolean;
  readonly maxLineBytes: number;
  readonly context: JsonlContext;
  /** where routes placed by VRF name are remembered, to follow their VRF's table */
  readonly vrfRoutes: VrfRoutes;
}

export interface JsonlCounters {
  lines: number;
  rejected: number;
  connections: number;
  active: number;
  /** lines whose handling threw (a bug): answered, logged, and the daemon kept running */
  failed: number;
  /** error replies not sent because the client was not reading them */
  repliesDropped: number;
  /** times a connection was paused until its client read the replies queued for it */
  pausedForReplies: number;
}

/**
 * Replies queued for one client at most. A client that sends bad lines and never reads the
 * answers first gets its reading paused (write() said the buffer is full), and what the
 * lines of the chunk already read would add beyond this is dropped and counted.
 */
export const MAX_QUEUED_REPLY_BYTES = 64 * 1024;

export interface JsonlStats extends JsonlCounters {
  /** bytes of replies queued in the daemon, over every connection (bounded by MAX_QUEUED_REPLY_BYTES each) */
  readonly queuedReplyBytes: number;
}

export class JsonlSource implements RouteSource<JsonlStats> {
  readonly name = JSONL_SOURCE;
  private server: Server | undefined;
  private sessionSeq = 0;
  private readonly sockets = new Set<Socket>();
  private readonly counters: JsonlCounters = { lines: 0, rejected: 0, connections: 0, active: 0, failed: 0, repliesDropped: 0, pausedForReplies: 0 };
  /** every sync-end (the first one ends the source's initial sync) */
  private readonly sync = new SyncSignal();

  constructor(private readonly opts: JsonlSourceOptions, private readonly rib: Rib, private readonly log: Logger) {}

  async start(): Promise<void> {
    if (this.opts.socket === '-') {
      this.serve(process.stdin, undefined, 'jsonl#stdin');
      return;
    }
    await prepareSocketPath(this.opts.socket, 'sources.jsonl.socket');
    const server = createServer((sock) => {
      const session = `${JSONL_SOURCE}#${++this.sessionSeq}`;
      this.sockets.add(sock);
      this.counters.connections++;
      this.counters.active++;
      this.log.info({ event: 'sourceConnected', session }, 'JSON-lines client connected');
      sock.on('close', () => {
        this.sockets.delete(sock);
        this.counters.active--;
        const withdrawn = this.opts.withdrawOnDisconnect ? this.rib.withdrawSession(session) : 0;
        this.log.info({ event: 'sourceDisconnected', session, withdrawn }, 'JSON-lines client disconnected');
      });
      sock.on('error', (err) => this.log.warn({ event: 'sourceError', session, err }, 'JSON-lines connection error'));
      this.serve(sock, sock, session);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.socket, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(this.opts.socket, 0o660);
    server.on('error', (err) => this.log.error({ event: 'sourceError', err }, 'JSON-lines listener error'));
    this.server = server;
    this.log.info({ event: 'sourceListening', socket: this.opts.socket }, 'JSON-lines source listening');
  }

  stats(): JsonlStats {
    let queuedReplyBytes = 0;
    for (const s of this.sockets) queuedReplyBytes += s.writableLength;
    return { ...this.counters, queuedReplyBytes };
  }

  totals(): SourceTotals {
    return { messages: this.counters.lines, malformed: this.counters.rejected };
  }

  get synced(): boolean {
    return this.sync.synced;
  }

  onSynced(listener: () => void): () => void {
    return this.sync.listen(listener);
  }

  stop(): void {
    for (const s of this.sockets) s.destroy();
    this.server?.close();
    if (this.server && existsSync(this.opts.socket)) {
      try {
        unlinkSync(this.opts.socket);
      } catch {
        /* already gone */
      }
    }
    this.server = undefined;
  }

  private serve(input: Readable, reply: Socket | undefined, session: string): void {
    let lineNo = 0;
    const splitter = new ByteLineSplitter(this.opts.maxLineBytes);
    const fast = new FastLineCache();
    const throttle = new LogThrottle();
    const send = (text: string): void => {
      if (reply === undefined || reply.destroyed) return;
      if (reply.writableLength >= MAX_QUEUED_REPLY_BYTES) {
        this.counters.repliesDropped++;
        return;
      }
      if (reply.write(text) || input.isPaused()) return;
      // Backpressure: read no more from a client until it has read what we owe it.
      this.counters.pausedForReplies++;
      input.pause();
      reply.once('drain', () => input.resume());
    };
    const answer: Answer = (line, field, error, code = 'INPUT_INVALID') => {
      this.counters.rejected++;
      const dropped = throttle.admit();
      if (dropped !== undefined) this.log.warn({ event: 'sourceLineRejected', session, line, field, error, code, ...(dropped > 0 ? { notLogged: dropped } : {}) }, 'rejected a JSON-lines line');
      send(`${JSON.stringify({ error, code, line })}\n`);
    };
    const canonical = new CanonicalLineReader(this.opts.context.defaultTable);
    const onLine = (buf: Buffer, from: number, to: number, tooLong: boolean): void => {
      lineNo++;
      if (tooLong) {
        answer(lineNo, 'line', `line: longer than ${this.opts.maxLineBytes} bytes (sources.jsonl.max-line-bytes)`);
        return;
      }
      let text: string | undefined;
      // The guard per input: whatever one line does, it costs a reply, not the process.
      try {
        const kind = canonical.read(buf, from, to);
        if (kind !== LINE_OTHER) {
          this.counters.lines++;
          this.applyCanonical(kind, canonical, lineNo, session, answer);
          return;
        }
        text = buf.toString('utf8', from, to).trim();
        if (text === '') return;
        this.counters.lines++;
        this.handle(text, lineNo, session, answer, send, fast);
      } catch (err) {
        this.counters.failed++;
        const code: ErrorCode = err instanceof Rfc5549Error ? err.code : 'INTERNAL';
        this.log.error({ event: 'sourceLineFailed', session, line: lineNo, excerpt: excerpt(text ?? buf.toString('utf8', from, to)), err }, 'handling a JSON-lines line failed; the line is refused');
        answer(lineNo, 'line', `line: could not be handled: ${escapeText(errorMessage(err))}`, code);
      }
    };
    input.on('data', (chunk: Buffer) => {
      splitter.push(chunk, onLine);
    });
  }

  /** false when the RIB refused the route (answered) */
  private add(session: string, route: DesiredRoute, line: number, answer: Answer): boolean {
    if (this.rib.add(session, route) !== 'refused') return true;
    const refusal = this.rib.refusalOf(route.table, route.prefix);
    answer(line, 'prefix', refusal?.message ?? 'prefix: refused', refusal?.code);
    return false;
  }

  /** a line the byte reader took: its route and prefix are the reader's, overwritten by the next line */
  private applyCanonical(kind: CanonicalKind, r: CanonicalLineReader, line: number, session: string, answer: Answer): void {
    if (kind === LINE_ADD) this.add(session, r.route, line, answer);
    else this.rib.withdraw(r.route.table, r.prefix);
  }

  private handle(text: string, line: number, session: string, answer: Answer, send: (text: string) => void, fast: FastLineCache): void {
    const r = parseJsonLine(text, this.opts.context, fast);
    if (!r.ok) return answer(line, r.field, r.error);
    const u = r.update;
    switch (u.op) {
      case 'add':
        if (!this.add(session, u.route, line, answer)) return;
        if (u.vrf !== undefined) this.opts.vrfRoutes.added(u.vrf, session, u.route);
        break;
      case 'withdraw':
        this.rib.withdraw(u.table, u.prefix);
        if (u.vrf !== undefined) this.opts.vrfRoutes.withdrawn(u.vrf, u.prefix);
        break;
      case 'ack':
        // lines are handled in order and at once: every earlier reply is already written
        send(`${JSON.stringify({ ack: line })}\n`);
        break;
      case 'sync-begin':
        this.rib.beginReplay(JSONL_SOURCE);
        this.log.info({ event: 'replayBegin', session }, 'replay begins');
        break;
      case 'sync-end': {
        const withdrawn = this.rib.endReplay(JSONL_SOURCE, (s) => s.startsWith(`${JSONL_SOURCE}#`));
        if (withdrawn === undefined) return answer(line, 'op', 'op: "sync-end" without a "sync-begin" before it');
        this.log.info({ event: 'replayEnd', session, withdrawn }, 'replay ends');
        this.sync.ended();
        break;
      }
    }
  }
}
