#!/usr/bin/env node
// rfc5549d command line: run the daemon, check a config file, ask a running daemon, and
// add or withdraw a route through its JSON-lines socket.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { assertStartable, ConfigError, formatProblem } from './config/config.js';
import { loadConfig } from './config/load.js';
import { askDaemon } from './cli/control-client.js';
import { runExabgpCommand, type ExabgpCommandOptions } from './cli/exabgp-command.js';
import { formatPeers, formatRoutes, formatStatus } from './cli/format.js';
import { formatPlan } from './cli/format-plan.js';
import { addLine, DaemonRefusal, sendRouteLine, UsageError, withdrawLine, type TableChoice } from './cli/route-client.js';
import { errorMessage } from './errors.js';
import { escapeText } from './excerpt.js';
import { installLastResort } from './last-resort.js';
import { createLogger } from './log.js';
import { runService } from './service.js';

// Before anything else runs: at level fatal, so it holds whatever log.level says.
installLastResort(createLogger('fatal'));

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

async function run(opts: { config?: string; dryRun?: boolean }): Promise<void> {
  await runService(opts.config, pkg.version, { dryRun: opts.dryRun === true });
}

function checkConfig(file: string): void {
  assertStartable(loadConfig(file), file);
  process.stdout.write(`${file}: configuration OK\n`);
}

interface ClientOptions {
  socket?: string;
  config?: string;
  json?: boolean;
  pending?: boolean;
}

async function ask(command: string, opts: ClientOptions, format: (answer: never) => string): Promise<void> {
  const socket = opts.socket ?? loadConfig(opts.config).control.socket;
  const answer = await askDaemon(socket, { command, pending: opts.pending === true }, command === 'resync' || command === 'plan' ? 120_000 : 5000);
  if (answer && typeof answer === 'object' && 'error' in answer) throw new Error(String(answer.error));
  process.stdout.write(`${opts.json ? JSON.stringify(answer, null, 2) : format(answer as never)}\n`);
}

const program = new Command()
  .name('rfc5549d')
  .description('Installs RFC 5549 / RFC 8950 routes (IPv4 via an IPv6 link-local next hop) into the Linux kernel')
  .version(pkg.version)
  .exitOverride();

program
  .command('run')
  .description('run the daemon (the embedded default configuration unless --config is given)')
  .option('-c, --config <file>', 'YAML configuration file')
  .option('--dry-run', 'write nothing to the kernel: run on a copy of it (rfc5549d plan shows what would be written)')
  .action(run);

program
  .command('check-config')
  .description('validate a configuration file and exit non-zero on errors')
  .argument('<file>', 'YAML configuration file')
  .action(checkConfig);

const clientCommand = (name: string, description: string) =>
  program
    .command(name)
    .description(description)
    .option('-s, --socket <path>', 'control socket of the daemon')
    .option('-c, --config <file>', 'read the control socket path from this configuration')
    .option('--json', 'machine-readable output');

clientCommand('status', 'the daemon: routes, reconciler, sources, links').action((o: ClientOptions) => ask('status', o, formatStatus));
clientCommand('routes', 'desired routes: installed, or pending and why')
  .option('--pending', 'only routes that are not in the kernel')
  .action((o: ClientOptions) => ask('routes', o, formatRoutes));
clientCommand('peers', 'peers: interface, link-local, MAC and its evidence').action((o: ClientOptions) => ask('peers', o, formatPeers));
clientCommand('plan', 'a dry run (run --dry-run): what would be installed, changed and removed, and why; routes still pending')
  .action((o: ClientOptions) => ask('plan', o, formatPlan));
clientCommand('resync', 'dump the kernel and repair any difference now; prints the pass it took')
  .action((o: ClientOptions) => ask('resync', o, (a: { writes: number; failed: number; durationMs: number; wallMs: number }) =>
    `resync: ${a.writes} writes, ${a.failed} failed, pass ${Math.round(a.durationMs)} ms, ${a.wallMs} ms in all`));

interface RouteOptions extends TableChoice {
  socket?: string;
  config?: string;
}

/** The routes socket: --socket, else sources.jsonl.socket of --config (or of the embedded default). */
function routesSocket(opts: RouteOptions): string {
  if (opts.socket !== undefined) return opts.socket;
  const { jsonl } = loadConfig(opts.config).sources;
  const from = opts.config ?? 'the embedded default';
  if (!jsonl.enabled) throw new UsageError(`sources.jsonl.enabled is false in ${from}: the daemon takes no routes on a socket (enable it, or give --socket)`);
  if (jsonl.socket === '-') throw new UsageError(`sources.jsonl.socket is "-" (standard input) in ${from}: there is no socket to send to`);
  if (jsonl.withdrawOnDisconnect) process.stderr.write(`rfc5549d: note: sources.jsonl.withdraw-on-disconnect is true in ${from}: the daemon withdraws this again when the command disconnects\n`);
  return jsonl.socket;
}

const routeCommand = (name: string, description: string) =>
  program
    .command(name)
    .description(description)
    .argument('<prefix>', 'IPv4 prefix, e.g. 10.1.0.0/24')
    .option('--table <table>', 'routing table: number or rt_tables name (default kernel.table)')
    .option('--vrf <name>', 'the table of this VRF device instead of --table')
    .option('-s, --socket <path>', "the daemon's JSON-lines socket (sources.jsonl.socket)")
    .option('-c, --config <file>', 'read sources.jsonl.socket from this configuration');

routeCommand('add', 'add or replace a route: add 10.1.0.0/24 via fe80::…%eth1 [via fe80::…%eth2 …] (it stays after this command exits)')
  .argument('<nexthops...>', 'via <link-local>%<interface>, once per ECMP leg')
  .action(async (prefix: string, words: string[], o: RouteOptions) => {
    const line = addLine(prefix, words, o);
    await sendRouteLine(routesSocket(o), line);
    process.stdout.write(`${prefix}: added (rfc5549d routes shows whether it is installed)\n`);
  });
routeCommand('withdraw', 'withdraw a route: withdraw 10.1.0.0/24 [--table T | --vrf V]')
  .action(async (prefix: string, o: RouteOptions) => {
    await sendRouteLine(routesSocket(o), withdrawLine(prefix, o));
    process.stdout.write(`${prefix}: withdrawn\n`);
  });

program
  .command('exabgp')
  .description("bridge for ExaBGP 4.2: run it as ExaBGP's process (encoder json); feeds the daemon's JSON-lines socket")
  .option('-s, --socket <path>', "the daemon's JSON-lines socket (sources.jsonl.socket)")
  .option('-c, --config <file>', 'read the JSON-lines socket path from this configuration')
  .option('-n, --neighbor <address=ifname...>', "a neighbour's peer or local address and the interface its routes use (repeatable)")
  .option('--table <number>', 'put the routes in this table (default: the daemon\'s kernel.table)')
  .action((o: ExabgpCommandOptions) => runExabgpCommand(o));

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  if (err instanceof ConfigError) {
    process.stderr.write(`rfc5549d: invalid configuration:\n${err.problems.map((p) => `  ${formatProblem(p)}`).join('\n')}\n`);
    process.exit(2);
  }
  if (err instanceof UsageError) {
    process.stderr.write(`rfc5549d: ${escapeText(err.message)}\n`);
    process.exit(2);
  }
  if (err instanceof DaemonRefusal) {
    process.stderr.write(`rfc5549d: ${escapeText(err.message)}\n`);
    process.exit(1);
  }
  process.stderr.write(`rfc5549d: ${escapeText(errorMessage(err))}\n`);
  process.exit(1);
}
