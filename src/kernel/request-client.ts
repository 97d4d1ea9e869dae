// The main thread's side of the request socket, which lives in a worker thread
// (request-worker.ts): sequence numbers are allocated here, batches go over as bytes, and
// the kernel's failures come back by sequence number.
import { Worker } from 'node:worker_threads';
import { Rfc5549Error } from '../errors.js';
import { SequenceNumbers, type NetlinkAck } from './netlink-codec.js';

export interface BatchRequest {
  readonly id: number;
  readonly bytes: Uint8Array;
  readonly first: number;
  readonly last: number;
}

/** asks the worker to close its socket and let its thread end by itself */
export interface CloseRequest {
  readonly kind: 'close';
}

export type WorkerReply =
  | { readonly kind: 'ready'; readonly portId: number }
  | { readonly kind: 'done'; readonly id: number; readonly failures: NetlinkAck[]; readonly buffer: ArrayBuffer }
  | { readonly kind: 'failed'; readonly id: number; readonly message: string; readonly transient: boolean; readonly buffer: ArrayBuffer };

interface Waiting {
  resolve(failures: Map<number, NetlinkAck>): void;
  reject(err: Error): void;
}

export class RequestClient {
  private worker: Worker;
  private readonly seqs = new SequenceNumbers();
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();
  private closed = false;
  /** the worker's netlink port id (0 until it is up): the kernel stamps it on our echoes */
  portId = 0;

  constructor() {
    this.worker = this.spawn();
  }

  private spawn(): Worker {
    const w = new Worker(new URL('./request-worker.js', import.meta.url));
    w.on('message', (m: WorkerReply) => this.reply(m));
    w.on('error', (err) => this.failAll(new Rfc5549Error('KERNEL_IO', `netlink request thread: ${err.message}`, { cause: err, transient: true })));
    w.on('exit', (code) => {
      if (this.closed) return;
      // Whatever was in flight is unknown now; callers resync. A new thread takes over.
      this.failAll(new Rfc5549Error('KERNEL_IO', `netlink request thread exited (${code}); restarted`, { transient: true }));
      this.worker = this.spawn();
    });
    return w;
  }

  allocSeq(count = 1): number {
    return this.seqs.allocate(count);
  }

  /** the worker hands each batch's buffer back once sent: here it goes (MessageWriter.adopt) */
  onBufferBack: ((ab: ArrayBuffer) => void) | undefined;

  /**
   * One sendmsg of requests first..last (the last asks for an ACK); resolves with the failures
   * by seq. `bytes` must own its ArrayBuffer (MessageWriter.detach): it is transferred to the
   * request thread, not copied, and unusable here afterwards.
   */
  sendBatch(bytes: Buffer, first: number, last: number): Promise<Map<number, NetlinkAck>> {
    if (this.closed) return Promise.reject(new Rfc5549Error('KERNEL_IO', 'netlink requests: closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      const req: BatchRequest = { id, bytes, first, last };
      this.worker.postMessage(req, [bytes.buffer as ArrayBuffer]);
    });
  }

  /**
   * Resolves once the request thread is gone. It closes its own socket and ends by itself:
   * terminate() stops its JavaScript while the socket may still be polled, and a reply
   * arriving then makes the binding throw inside a libuv callback, which aborts the process
   * ("terminate called after throwing an instance of 'Napi::Error'", seen at exit).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new Rfc5549Error('KERNEL_IO', 'netlink requests: closed'));
    const w = this.worker;
    const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
    w.postMessage({ kind: 'close' } satisfies CloseRequest);
    const forced = setTimeout(() => void w.terminate(), 2000);
    await exited;
    clearTimeout(forced);
  }

  private reply(m: WorkerReply): void {
    if (m.kind === 'ready') {
      this.portId = m.portId;
      return;
    }
    this.onBufferBack?.(m.buffer);
    const w = this.waiting.get(m.id);
    if (!w) return;
    this.waiting.delete(m.id);
    if (m.kind === 'done') w.resolve(new Map(m.failures.map((f) => [f.seq, f])));
    else w.reject(new Rfc5549Error('KERNEL_IO', m.message, { transient: m.transient }));
  }

  private failAll(err: Error): void {
    const all = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of all) w.reject(err);
  }
}
