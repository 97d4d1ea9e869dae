// The control socket: one JSON request line in ({"command":"status"|"routes"|"peers", ...}),
// one JSON answer line out. Read-only but for `resync`; the CLI (src/cli/) is its client.
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import type { Logger } from '../log.js';
import { prepareSocketPath } from '../runtime/socket-path.js';

export type ControlHandler = (request: { command: string; pending?: boolean }) => unknown;

export interface ControlStats {
  /** requests answered, errors included */
  readonly requests: number;
  /** requests that got an error answer (bad JSON, unknown command, a handler that threw) */
  readonly errors: number;
}

export class ControlServer {
  private server: Server | undefined;
  private requests = 0;
  private errors = 0;

  constructor(private readonly path: string, private readonly handle: ControlHandler, private readonly log: Logger) {}

  async start(): Promise<void> {
    // the run lock (src/runtime/run-lock.ts) keeps a second daemon out; this keeps anyone's live socket
    await prepareSocketPath(this.path, 'control.socket');
    const server = createServer((sock) => {
      let buf = '';
      sock.on('data', (d) => {
        buf += d.toString('utf8');
        const nl = buf.indexOf('\n');
        if (nl < 0) {
          if (buf.length > 4096) sock.destroy();
          return;
        }
        const line = buf.slice(0, nl);
        buf = '';
        void (async () => {
          let answer: unknown;
          try {
            const req = JSON.parse(line) as { command?: unknown; pending?: unknown };
            answer = typeof req.command === 'string' ? await this.handle({ command: req.command, pending: req.pending === true }) : { error: 'command: expected a string' };
          } catch (err) {
            answer = { error: `invalid request: ${(err as Error).message}` };
          }
          this.requests++;
          if (typeof answer === 'object' && answer !== null && 'error' in answer) this.errors++;
          sock.end(`${JSON.stringify(answer)}\n`);
        })();
      });
      sock.on('error', () => {});
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => resolve());
    });
    chmodSync(this.path, 0o660);
    this.server = server;
    this.log.info({ event: 'controlListening', socket: this.path }, 'control socket listening');
  }

  stats(): ControlStats {
    return { requests: this.requests, errors: this.errors };
  }

  stop(): void {
    this.server?.close();
    if (this.server && existsSync(this.path)) unlinkSync(this.path);
    this.server = undefined;
  }
}
