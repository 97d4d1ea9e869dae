// The gRPC plumbing of the GoBGP source: a client with our limits and keepalives, and
// server-streaming calls run to their end. Messages stay raw bytes: gobgp-api.ts decodes.
import * as grpc from '@grpc/grpc-js';
import type { Timer } from '../../runtime/clock.js';
import { GOBGP_SERVICE, type GobgpEvent } from './gobgp-api.js';

/** One connection to gobgpd: a generation ("gobgp#N") and the calls it has open. */
export interface GobgpConnection {
  readonly client: grpc.Client;
  readonly session: string;
  readonly calls: grpc.ClientReadableStream<Buffer>[];
  /** watch events that came while listing, applied after it */
  readonly queued: GobgpEvent[];
  listStarted: boolean;
  initTimer: Timer | undefined;
}

/** Cancels its calls and closes the client. */
export function closeCalls(c: GobgpConnection): void {
  c.initTimer?.cancel();
  for (const call of c.calls) call.cancel();
  c.client.close();
}

const raw = (b: Buffer): Buffer => b;

export function gobgpClient(address: string, maxMessageBytes: number): grpc.Client {
  return new grpc.Client(address, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': 1 << 16,
    // a gobgpd that hangs (not killed) is noticed without waiting for TCP
    'grpc.keepalive_time_ms': 10_000,
    'grpc.keepalive_timeout_ms': 5_000,
  });
}

/** Opens a server-streaming call of gobgpd's API. */
export function openStream(client: grpc.Client, method: string, request: Buffer): grpc.ClientReadableStream<Buffer> {
  return client.makeServerStreamRequest(`${GOBGP_SERVICE}/${method}`, raw, raw, request);
}

/**
 * Runs a server-streaming call to its end, handing each message to `each`; a throw from
 * `each` cancels the call and rejects, naming the method.
 */
export function streamToEnd(client: grpc.Client, calls: grpc.ClientReadableStream<Buffer>[], method: string, request: Buffer, each: (bytes: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const call = openStream(client, method, request);
    calls.push(call);
    let failed = false;
    call.on('data', (bytes: Buffer) => {
      if (failed) return;
      try {
        each(bytes);
      } catch (err) {
        failed = true;
        call.cancel();
        reject(new Error(`${method}: ${(err as Error).message}`));
      }
    });
    call.on('error', (err: grpc.ServiceError) => {
      if (!failed) reject(new Error(`${method}: ${err.details || err.message}`));
      failed = true;
    });
    call.on('end', () => {
      if (!failed) resolve();
    });
  });
}
