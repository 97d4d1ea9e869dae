// Runs the built CLI (dist/src/main.js) inside a namespace, as an operator would.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { Netns } from './netns.js';
import { waitFor } from './netns.js';

// The project root, whether this runs from test/helpers (vitest) or dist/test/helpers (bench).
const ROOT = resolve(import.meta.dirname, /[/\\]dist[/\\]test[/\\]/.test(import.meta.dirname) ? '../../..' : '../..');
const CLI = resolve(ROOT, 'dist/src/main.js');

export type LogLine = Record<string, unknown> & { event?: string; msg?: string; level?: number };

export class DaemonProcess {
  readonly dir: string;
  readonly socket: string;
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> | undefined;

  constructor(
    private readonly ns: Netns,
    private config: Record<string, unknown> = {},
    readonly env: Record<string, string> = {},
    /** node's own options before the CLI (the profile bench's --cpu-prof: not allowed in NODE_OPTIONS) */
    readonly nodeArgs: readonly string[] = [],
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'rfc5549d-test-'));
    this.socket = join(this.dir, 'routes.sock');
  }

  get controlSocket(): string {
    return join(this.dir, 'control.sock');
  }

  /** Runs a CLI subcommand against this daemon; never throws. */
  tryCli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, [CLI, ...args, '--socket', this.controlSocket], { encoding: 'utf8' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** Runs a CLI subcommand against this daemon; returns stdout. */
  cli(...args: string[]): string {
    const r = spawnSync(process.execPath, [CLI, ...args, '--socket', this.controlSocket], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`rfc5549d ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return r.stdout;
  }

  /** Runs `rfc5549d add|withdraw …` against this daemon's JSON-lines socket; never throws. */
  routeCli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, [CLI, ...args, '--socket', this.socket], { encoding: 'utf8' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  get logFile(): string {
    return join(this.dir, 'daemon.log');
  }

  get configFile(): string {
    return join(this.dir, 'rfc5549d.yaml');
  }

  /** Writes the config file the daemon reads (on start, and on SIGHUP). */
  writeConfig(config: Record<string, unknown> = this.config): void {
    this.config = config;
    const cfg = {
      log: { level: 'debug' },
      graceful: { 'stale-time': 3 },
      control: { socket: this.controlSocket },
      ...this.config,
      sources: {
        // other sources (kernel tables, …) as the test gives them
        ...((this.config.sources as Record<string, unknown> | undefined) ?? {}),
        jsonl: { socket: this.socket, ...((this.config.sources as { jsonl?: object } | undefined)?.jsonl ?? {}) },
        // zebra is only there in the FRR suite; elsewhere FPM would hold the sweep for stale-time
        fpm: { enabled: false, ...((this.config.sources as { fpm?: object } | undefined)?.fpm ?? {}) },
      },
    };
    writeFileSync(this.configFile, stringify(cfg));
  }

  /** Starts the daemon (`run --config FILE` and `args`, e.g. --dry-run) and waits for its "ready" line. */
  async start(args: readonly string[] = []): Promise<void> {
    this.writeConfig();
    const file = this.configFile;
    const { openSync } = await import('node:fs');
    const out = openSync(this.logFile, 'a');
    const child = spawn('ip', ['netns', 'exec', this.ns.name, process.execPath, ...this.nodeArgs, CLI, 'run', '--config', file, ...args], { stdio: ['ignore', out, out], env: { ...process.env, ...this.env } });
    this.child = child;
    this.exited = new Promise((r) => child.once('exit', (code) => r(code)));
    const startLine = this.logs().length;
    // waitFor retries on a throw: an exit is returned instead, so it is reported at once
    const outcome = await waitFor('daemon ready', () => {
      if (child.exitCode !== null) return 'exited';
      return this.logs().slice(startLine).some((l) => l.event === 'ready') && 'ready';
    }, 15_000);
    if (outcome === 'exited') throw new Error(`daemon exited ${child.exitCode}: ${readFileSync(this.logFile, 'utf8')}`);
  }

  logs(): LogLine[] {
    let text: string;
    try {
      text = readFileSync(this.logFile, 'utf8');
    } catch {
      return [];
    }
    return text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (!this.child || this.child.exitCode !== null) return this.child?.exitCode ?? null;
    this.child.kill(signal);
    const code = await Promise.race([this.exited!, new Promise<null>((r) => setTimeout(() => r(null), 5000))]);
    if (code === null && this.child.exitCode === null) this.child.kill('SIGKILL');
    return code;
  }

  signal(sig: NodeJS.Signals): void {
    this.child?.kill(sig);
  }

  /** Waits for the exit code of a daemon told to stop some other way. */
  async exitCode(timeoutMs = 10_000): Promise<number | null> {
    if (!this.child) return null;
    return Promise.race([this.exited!, new Promise<null>((r) => setTimeout(() => r(null), timeoutMs))]);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  cleanup(): void {
    if (this.child && this.child.exitCode === null) this.child.kill('SIGKILL');
    if (process.env.KEEP_TEST_LOGS) return; // debugging: the daemon log stays in this.dir
    rmSync(this.dir, { recursive: true, force: true });
  }

  async connect(): Promise<FeedClient> {
    const sock = createConnection(this.socket);
    await new Promise<void>((res, rej) => {
      sock.once('connect', res);
      sock.once('error', rej);
    });
    return new FeedClient(sock);
  }
}

/** A JSON-lines client that keeps the replies it gets. */
export class FeedClient {
  readonly replies: Record<string, unknown>[] = [];
  private buf = '';

  constructor(private readonly sock: Socket) {
    sock.on('data', (d) => {
      this.buf += d.toString('utf8');
      let i;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        this.replies.push(JSON.parse(this.buf.slice(0, i)) as Record<string, unknown>);
        this.buf = this.buf.slice(i + 1);
      }
    });
    sock.on('error', () => {});
  }

  send(...lines: (string | object)[]): void {
    this.sock.write(lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l)) + '\n').join(''));
  }

  /** Writes raw JSON-lines text, waiting while the socket's buffer is full (bulk feeds). */
  async write(text: string): Promise<void> {
    if (!this.sock.write(text)) await new Promise((r) => this.sock.once('drain', r));
  }

  close(): void {
    this.sock.end();
  }
}
