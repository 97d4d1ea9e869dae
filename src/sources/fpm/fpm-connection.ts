// One TCP connection from zebra: frames in, decoded items out, and the bounds on a peer
// that stops mid-frame (FRAME_STALL_MS) or speaks no FPM. Once detached (replaced, or the
// source stopped) it reports nothing more: its close is ours, not zebra going away.
import type { Socket } from 'node:net';
import type { Clock, Timer } from '../../runtime/clock.js';
import { FpmFrameDecoder, type FpmItem } from './fpm-decode.js';
import { FpmFrameError, FpmFrameReader } from './fpm-framing.js';
import type { FpmSession } from './fpm-session.js';

/** Idle time before the first TCP keepalive probe: a zebra host that died sends no FIN. */
const KEEPALIVE_IDLE_MS = 10_000;

export interface FpmConnectionEvents {
  /** every decoded netlink message, malformed ones included, in order */
  readonly item: (item: FpmItem) => void;
  /** after every chunk of frames */
  readonly chunk: () => void;
  /** a header that cannot be trusted: the connection is closed */
  readonly badFrame: (err: FpmFrameError) => void;
  /** half a frame waited past the stall limit: the connection is closed */
  readonly stalled: (bufferedBytes: number) => void;
  readonly error: (err: Error) => void;
  /** zebra closed (or the connection was closed above): not reported once detached */
  readonly closed: () => void;
}

export class FpmConnection {
  /** complete frames received; 0: it has not spoken FPM yet */
  frames = 0;
  /** when the bytes of an unfinished frame last grew; undefined: no partial frame */
  partialSince: number | undefined;
  private readonly reader = new FpmFrameReader();
  private stallTimer: Timer | undefined;
  private attached = true;

  constructor(
    readonly sock: Socket,
    readonly session: FpmSession,
    private readonly clock: Clock,
    private readonly stallMs: number,
    private readonly events: FpmConnectionEvents,
  ) {
    // zebra can sit idle for hours between route changes; a host that died sends no FIN
    sock.setKeepAlive(true, KEEPALIVE_IDLE_MS);
    sock.on('data', (chunk: Buffer) => this.onData(chunk));
    sock.on('error', (err) => this.events.error(err));
    sock.on('close', () => {
      this.stallTimer?.cancel();
      if (this.attached) this.events.closed();
    });
  }

  /** the peer as "address:port" */
  get peer(): string {
    return `${this.sock.remoteAddress}:${this.sock.remotePort}`;
  }

  /** Closes it without reporting the close (replaced by a new connection, or the source stopped). */
  detach(): void {
    this.attached = false;
    this.stallTimer?.cancel();
    this.sock.destroy();
  }

  private readonly decoder = new FpmFrameDecoder((item: FpmItem) => this.events.item(item));

  /** each frame's items, as it is read */
  private readonly onFrame = (buf: Buffer, start: number, end: number): void => {
    this.frames++;
    this.decoder.frame(buf, start, end);
  };

  private onData(chunk: Buffer): void {
    if (!this.attached) return;
    try {
      this.reader.read(chunk, this.onFrame);
    } catch (err) {
      if (!(err instanceof FpmFrameError)) throw err; // not the stream's fault
      // A bad header means the length can no longer be trusted: close this connection only.
      this.events.badFrame(err);
      this.sock.destroy();
      return;
    }
    this.stallTimer?.cancel();
    this.stallTimer = undefined;
    this.partialSince = this.reader.buffered > 0 ? this.clock.now() : undefined;
    if (this.reader.buffered > 0) this.stallTimer = this.clock.setTimeout(() => this.onStall(), this.stallMs);
    this.events.chunk();
  }

  private onStall(): void {
    this.stallTimer = undefined;
    if (!this.attached || this.reader.buffered === 0) return;
    this.events.stalled(this.reader.buffered);
    this.sock.destroy();
  }
}
