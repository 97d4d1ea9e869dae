// The request socket's thread. The kernel does a route write's work inside sendmsg, on the
// calling thread: here that is this worker, so the main thread keeps parsing the feed while
// the kernel installs the previous batch (about a third of a million-route install).
import { parentPort } from 'node:worker_threads';
import { Rfc5549Error } from '../errors.js';
import { NetlinkChannel } from './netlink-channel.js';
import type { BatchRequest, CloseRequest, WorkerReply } from './request-client.js';

const port = parentPort;
if (!port) throw new Error('request-worker.js runs as a worker thread');

// Room for a whole batch of NACKs: an overrun here would lose answers.
const channel = new NetlinkChannel({ name: 'netlink-requests', recvBufferBytes: 32 << 20 });
const post = (m: WorkerReply) => port.postMessage(m, 'buffer' in m ? [m.buffer] : []);
post({ kind: 'ready', portId: channel.portId });

port.on('message', (req: BatchRequest | CloseRequest) => {
  if ('kind' in req) {
    // close the socket here, then nothing keeps this thread's loop alive: it ends by itself
    channel.close();
    port.close();
    return;
  }
  // transferred, not copied; it goes back with the answer, once sendmsg is long done
  const buffer = req.bytes.buffer as ArrayBuffer;
  const bytes = Buffer.from(buffer, req.bytes.byteOffset, req.bytes.byteLength);
  channel.sendBatch(bytes, req.first, req.last).then(
    (failures) => post({ kind: 'done', id: req.id, failures: [...failures.values()], buffer }),
    (err: unknown) => {
      const e = err instanceof Rfc5549Error ? err : new Rfc5549Error('KERNEL_IO', String(err));
      post({ kind: 'failed', id: req.id, message: e.message, transient: e.transient, buffer });
    },
  );
});
