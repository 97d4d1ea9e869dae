// One rtnetlink socket with one job (requests, dumps or events): the research found that
// sharing breaks dumps (EBUSY) and that un-read ACKs or events overrun the buffer. The
// transport (the netlink package and our patch of it) is behind netlink-socket.ts.
import { Rfc5549Error } from '../errors.js';
import {
  decodeAck, errnoName, MessageWriter, NETLINK_CAP_ACK, NETLINK_EXT_ACK, NETLINK_GET_STRICT_CHK, NLM_F_DUMP_INTR,
  NLMSG_DONE, NLMSG_ERROR, NLMSG_OVERRUN, SequenceNumbers, SO_RCVBUFFORCE, SO_SNDBUFFORCE, SOL_NETLINK, SOL_SOCKET, MessageWalker,
  type NetlinkAck, type NetlinkMessage,
} from './netlink-codec.js';
import { openRouteSocket, type NetlinkSocket } from './netlink-socket.js';

export interface ChannelOptions {
  readonly name: string;
  readonly recvBufferBytes: number;
  readonly groups?: readonly number[];
}

interface PendingBatch {
  readonly first: number;
  readonly last: number;
  readonly failures: Map<number, NetlinkAck>;
  resolve(failures: Map<number, NetlinkAck>): void;
  reject(err: Error): void;
}

interface PendingDump {
  readonly seq: number;
  readonly onMessage: (m: NetlinkMessage) => void;
  interrupted: boolean;
  resolve(result: { interrupted: boolean }): void;
  reject(err: Error): void;
}

export class NetlinkChannel {
  readonly name: string;
  /** our netlink port id: the kernel stamps it on the events our own requests cause */
  readonly portId: number;
  private readonly sock: NetlinkSocket;
  private readonly seqs = new SequenceNumbers();
  private batches: PendingBatch[] = [];
  private dumpInFlight: PendingDump | undefined;
  private closed = false;
  /** multicast events (only on a channel created with groups) */
  onEvent: ((m: NetlinkMessage) => void) | undefined;
  /** the kernel dropped messages for us (ENOBUFS): the caller must resync by dump */
  onOverrun: (() => void) | undefined;
  /** socket-level or decode errors that are not tied to a request */
  onError: ((err: Error) => void) | undefined;

  constructor(opts: ChannelOptions) {
    this.name = opts.name;
    this.sock = openRouteSocket({
      message: (buf) => this.receive(buf),
      overrun: () => this.overrun(),
      error: (err) => this.onError?.(err),
    });
    this.portId = this.sock.portId;
    // *FORCE needs CAP_NET_ADMIN; fall back to the capped size without it.
    try {
      this.sock.setIntOption(SOL_SOCKET, SO_RCVBUFFORCE, opts.recvBufferBytes);
    } catch {
      this.sock.setRecvBufferSize(opts.recvBufferBytes);
    }
    try {
      this.sock.setIntOption(SOL_SOCKET, SO_SNDBUFFORCE, 8 << 20);
    } catch {
      this.sock.setSendBufferSize(8 << 20);
    }
    this.sock.setIntOption(SOL_NETLINK, NETLINK_EXT_ACK, 1); // the kernel's reason text with each NACK
    this.sock.setIntOption(SOL_NETLINK, NETLINK_CAP_ACK, 1); // ACKs without our request copied back
    this.sock.setIntOption(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1); // dumps filtered by the kernel
    for (const g of opts.groups ?? []) this.sock.joinGroup(g);
  }

  allocSeq(count = 1): number {
    return this.seqs.allocate(count);
  }

  joinGroup(group: number): void {
    this.sock.joinGroup(group);
  }

  leaveGroup(group: number): void {
    this.sock.leaveGroup(group);
  }

  /** Bytes queued in our receive buffer are not visible; the kernel's drop counter is. */
  recvBufferBytes(): number {
    return this.sock.recvBufferBytes();
  }

  /**
   * Sends a batch of requests (seqs first..last, the last one asking for an ACK) in one
   * sendmsg and resolves with the failures by seq once the last is answered. The kernel
   * answers each failing message with NLMSG_ERROR even without NLM_F_ACK.
   */
  sendBatch(bytes: Buffer, first: number, last: number): Promise<Map<number, NetlinkAck>> {
    if (this.closed) return Promise.reject(new Rfc5549Error('KERNEL_IO', `${this.name}: channel closed`));
    return new Promise((resolve, reject) => {
      const batch: PendingBatch = { first, last, failures: new Map(), resolve, reject };
      this.batches.push(batch);
      this.sock.send(bytes, (err) => {
        if (err) {
          this.batches = this.batches.filter((b) => b !== batch);
          reject(new Rfc5549Error('KERNEL_IO', `${this.name}: sendmsg: ${err.message}`, { cause: err, transient: err.code === 'ENOBUFS' }));
        }
      });
    });
  }

  /** Runs one dump, streaming each answer message to onMessage (views valid only during the call). */
  dump(write: (w: MessageWriter, seq: number) => void, onMessage: (m: NetlinkMessage) => void): Promise<{ interrupted: boolean }> {
    if (this.closed) return Promise.reject(new Rfc5549Error('KERNEL_IO', `${this.name}: channel closed`));
    if (this.dumpInFlight) return Promise.reject(new Rfc5549Error('KERNEL_IO', `${this.name}: a dump is already running`, { transient: true }));
    const seq = this.allocSeq();
    const w = new MessageWriter(256);
    write(w, seq);
    return new Promise((resolve, reject) => {
      this.dumpInFlight = { seq, onMessage, interrupted: false, resolve, reject };
      this.sock.send(w.take(), (err) => {
        if (err && this.dumpInFlight?.seq === seq) {
          this.dumpInFlight = undefined;
          reject(new Rfc5549Error('KERNEL_IO', `${this.name}: dump sendmsg: ${err.message}`, { cause: err, transient: true }));
        }
      });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const err = new Rfc5549Error('KERNEL_IO', `${this.name}: channel closed`);
    for (const b of this.batches) b.reject(err);
    this.batches = [];
    this.dumpInFlight?.reject(err);
    this.dumpInFlight = undefined;
    this.sock.close();
  }

  /** A request socket overrun means lost ACKs: fail what is pending so callers re-check. */
  private overrun(): void {
    const lost = new Rfc5549Error('KERNEL_IO', `${this.name}: receive buffer overrun, answers lost`, { transient: true });
    for (const b of this.batches) b.reject(lost);
    this.batches = [];
    this.dumpInFlight?.reject(lost);
    this.dumpInFlight = undefined;
    this.onOverrun?.();
  }

  private receive(buf: Buffer): void {
    // The binding swallows exceptions thrown here; catch and report instead.
    try {
      // one view for every message: dispatch and its consumers read it during the call only
      const error = this.walker.walk(buf, this.dispatchMessage);
      if (error) this.onError?.(new Rfc5549Error('NETLINK_DECODE', `${this.name}: ${error}`));
    } catch (err) {
      this.onError?.(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private readonly walker = new MessageWalker();
  private readonly dispatchMessage = (m: NetlinkMessage): void => this.dispatch(m);

  private dispatch(m: NetlinkMessage): void {
    const dump = this.dumpInFlight;
    if (dump && m.seq === dump.seq && m.pid !== 0) {
      if (m.flags & NLM_F_DUMP_INTR) dump.interrupted = true;
      if (m.type === NLMSG_DONE) {
        this.dumpInFlight = undefined;
        dump.resolve({ interrupted: dump.interrupted });
      } else if (m.type === NLMSG_ERROR) {
        const ack = decodeAck(m);
        this.dumpInFlight = undefined;
        if (ack.errno === 0) dump.resolve({ interrupted: dump.interrupted });
        else dump.reject(kernelNack(this.name, 'dump', ack));
      } else {
        dump.onMessage(m);
      }
      return;
    }
    if (m.type === NLMSG_ERROR) {
      const ack = decodeAck(m);
      const batch = this.batches.find((b) => inRange(ack.seq, b.first, b.last));
      if (!batch) return;
      if (ack.errno !== 0) batch.failures.set(ack.seq, ack);
      if (ack.seq === batch.last) {
        this.batches = this.batches.filter((b) => b !== batch);
        batch.resolve(batch.failures);
      }
      return;
    }
    if (m.type === NLMSG_OVERRUN) {
      this.onOverrun?.();
      return;
    }
    this.onEvent?.(m);
  }
}

function inRange(seq: number, first: number, last: number): boolean {
  return first <= last ? seq >= first && seq <= last : seq >= first || seq <= last;
}

function kernelNack(channel: string, what: string, ack: NetlinkAck): Rfc5549Error {
  const text = ack.extack ? ` (${ack.extack})` : '';
  const err = new Rfc5549Error('KERNEL_NACK', `${channel}: ${what}: ${errnoName(ack.errno)}${text}`);
  Object.assign(err, { errno: ack.errno, errnoName: errnoName(ack.errno) });
  return err;
}
