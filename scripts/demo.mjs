// npm run demo: two throwaway namespaces joined by one unnumbered veth link, rfc5549d on each
// side, one route fed to each over JSON lines, a ping across, then everything removed.
// Needs root (ip netns). Touches nothing outside its own namespaces.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const CLI = resolve(import.meta.dirname, '../dist/src/main.js');
const id = process.pid;
const sides = [
  { ns: `r5-demo-${id}-a`, dev: 'a0', mac: '02:00:00:00:0a:0a', addr: '10.0.0.1' },
  { ns: `r5-demo-${id}-b`, dev: 'b0', mac: '02:00:00:00:0b:0b', addr: '10.0.0.2' },
];
const dir = mkdtempSync(join(tmpdir(), 'rfc5549d-demo-'));
const daemons = [];

const say = (text) => process.stdout.write(`\n== ${text}\n`);
function run(cmd, args, { show = true, allowFail = false } = {}) {
  if (show) process.stdout.write(`$ ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (show && r.stdout.trim()) process.stdout.write(`${r.stdout.trimEnd()}\n`);
  if (r.status !== 0 && !allowFail) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.stdout}`);
  return r;
}
const inNs = (side, cmd, args, opts) => run('ip', ['netns', 'exec', side.ns, cmd, ...args], opts);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function cleanup() {
  for (const d of daemons) d.kill('SIGKILL');
  for (const s of sides) spawnSync('ip', ['netns', 'del', s.ns]);
  rmSync(dir, { recursive: true, force: true });
}
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

async function waitForLog(file, event, ms = 15_000) {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    try {
      if (readFileSync(file, 'utf8').split('\n').some((l) => l.includes(`"event":"${event}"`))) return;
    } catch { /* not yet */ }
    await sleep(50);
  }
  throw new Error(`no ${event} in ${file}`);
}

async function feed(socket, lines) {
  const sock = createConnection(socket);
  await new Promise((res, rej) => sock.once('connect', res).once('error', rej));
  for (const l of lines) process.stdout.write(`> ${JSON.stringify(l)}\n`);
  sock.end(lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
  await new Promise((res) => sock.once('close', res));
}

function linkLocal(side) {
  for (let i = 0; i < 50; i++) {
    const out = JSON.parse(run('ip', ['-j', '-n', side.ns, 'addr', 'show', 'dev', side.dev], { show: false }).stdout);
    const ll = out[0]?.addr_info?.find((a) => a.family === 'inet6' && a.scope === 'link');
    if (ll) return ll.local;
    spawnSync('sleep', ['0.1']);
  }
  throw new Error(`no link-local on ${side.dev}`);
}

try {
  if (process.getuid?.() !== 0) throw new Error('the demo needs root (it creates network namespaces)');
  say('two namespaces, one veth link, no IPv4 address on it (unnumbered): only IPv6 link-locals');
  const [a, b] = sides;
  for (const s of sides) run('ip', ['netns', 'add', s.ns]);
  run('ip', ['link', 'add', a.dev, 'netns', a.ns, 'address', a.mac, 'type', 'veth', 'peer', 'name', b.dev, 'netns', b.ns, 'address', b.mac]);
  for (const s of sides) {
    inNs(s, 'sysctl', ['-qw', `net.ipv6.conf.${s.dev}.accept_dad=0`], { show: false });
    run('ip', ['-n', s.ns, 'link', 'set', 'lo', 'up'], { show: false });
    run('ip', ['-n', s.ns, 'addr', 'add', `${s.addr}/32`, 'dev', 'lo']);
    run('ip', ['-n', s.ns, 'link', 'set', s.dev, 'up']);
  }
  const ll = { a: linkLocal(a), b: linkLocal(b) };
  process.stdout.write(`link-locals: ${a.dev} ${ll.a}, ${b.dev} ${ll.b}\n`);

  say('rfc5549d on each side (FPM off; a JSON-lines socket each)');
  for (const s of sides) {
    const cfg = join(dir, `${s.ns}.yaml`);
    s.socket = join(dir, `${s.ns}.routes.sock`);
    s.control = join(dir, `${s.ns}.control.sock`);
    s.log = join(dir, `${s.ns}.log`);
    writeFileSync(cfg, `sources:\n  fpm: { enabled: false }\n  jsonl: { socket: ${s.socket} }\ncontrol: { socket: ${s.control} }\ngraceful: { stale-time: 1 }\n`);
    process.stdout.write(`$ ip netns exec ${s.ns} rfc5549d run --config ${cfg}   (log: ${s.log})\n`);
    const out = (await import('node:fs')).openSync(s.log, 'a');
    daemons.push(spawn('ip', ['netns', 'exec', s.ns, process.execPath, CLI, 'run', '--config', cfg], { stdio: ['ignore', out, out] }));
  }
  for (const s of sides) await waitForLog(s.log, 'ready');

  say('each side learns the other\'s loopback with the other\'s link-local as next hop (what BGP with extended next hop would hand over)');
  await feed(a.socket, [{ op: 'add', prefix: `${b.addr}/32`, nexthops: [{ via: ll.b, dev: a.dev }] }]);
  await feed(b.socket, [{ op: 'add', prefix: `${a.addr}/32`, nexthops: [{ via: ll.a, dev: b.dev }] }]);
  await sleep(300);

  say('what rfc5549d installed on side a');
  run('ip', ['-n', a.ns, 'route', 'show', 'table', '5549', 'proto', '200']);
  run('ip', ['-n', a.ns, 'rule', 'show', 'pref', '5549']);
  run('ip', ['-n', a.ns, 'neigh', 'show', '169.254.0.1']);
  inNs(a, process.execPath, [CLI, 'routes', '--socket', a.control]);
  inNs(a, process.execPath, [CLI, 'peers', '--socket', a.control]);

  say('IPv4 across the unnumbered link');
  const ping = inNs(a, 'ping', ['-c', '3', '-i', '0.2', '-W', '1', '-I', a.addr, b.addr], { allowFail: true });
  say(ping.status === 0 ? 'it works: IPv4 forwarded via 169.254.0.1 onlink to the peer\'s MAC' : 'ping failed: see the daemon logs above');
  process.exitCode = ping.status === 0 ? 0 : 1;
} catch (err) {
  process.stderr.write(`demo: ${err.message}\n`);
  process.exitCode = 1;
} finally {
  say('cleaning up: daemons stopped, namespaces and temp files removed');
  cleanup();
}
