// A real redis-server (Debian's package) on a free loopback port for the
// Redis store's tests. startRedis() resolves once it answers; stop() SIGKILLs
// it (a crash, not a clean shutdown); restart() starts it again on the same
// port (empty unless it was started with persistence: `aof: true` turns on
// the append-only file with an fsync per write, in a directory of its own).
// startSentinelSet() adds replicas and a redis-sentinel watching the master.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { delay, freePort } from './herald.mjs';

const children = new Set();
process.on('exit', () => {
  for (const p of children) {
    try { p.kill('SIGKILL'); } catch { /* gone */ }
  }
});

function spawnTracked(cmd, args) {
  const proc = spawn(cmd, args, { stdio: 'ignore' });
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  return proc;
}

function cliFor(port) {
  return (...cmd) => execFileSync('redis-cli', ['-p', String(port), ...cmd], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
}

async function waitPong(cli, port) {
  for (let i = 0; i < 200; i++) {  // bounded: 5 s
    try { if (cli('PING') === 'PONG') return; } catch { /* not yet */ }
    await delay(25);
  }
  throw new Error(`redis did not answer on ${port}`);
}

export async function startRedis({ args = [], aof = false } = {}) {
  const port = await freePort();
  const r = { port, url: `redis://127.0.0.1:${port}/0`, proc: null };
  r.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-redis-'));
  process.on('exit', () => { try { fs.rmSync(r.dir, { recursive: true, force: true }); } catch { /* ignore */ } });
  const persistence = aof ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  r.cli = cliFor(port);
  r.start = async () => {
    r.proc = spawnTracked('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
      '--dir', r.dir, ...persistence, '--loglevel', 'warning', ...args]);
    await waitPong(r.cli, port);
  };
  r.stop = async () => {
    if (!r.proc) return;
    const gone = new Promise((res) => r.proc.once('exit', res));
    r.proc.kill('SIGKILL');
    await gone;
    r.proc = null;
  };
  r.restart = r.start;
  await r.start();
  return r;
}

// Waits (bounded) until Redis has a subscriber on `channel`.
export async function waitSubscribed(r, channel, n = 1) {
  for (let i = 0; i < 200; i++) {
    const out = r.cli('PUBSUB', 'NUMSUB', channel).split('\n');
    if (Number(out[1]) >= n) return;
    await delay(25);
  }
  throw new Error(`no subscriber on ${channel}`);
}

// A master, `replicas` replicas in sync with it, and one redis-sentinel
// (quorum 1, quick failure detection and failover) that knows them all.
// Returns {master, replicas, sentinel: {port, cli, stop}, name, url} where url
// is the redis+sentinel:// URL for herald; masterPort() asks the sentinel.
export async function startSentinelSet({ replicas = 2, name = 'mymaster', downAfterMs = 500 } = {}) {
  // Diskless sync at once (Redis 7 waits 5 s for more replicas by default).
  const master = await startRedis({ args: ['--repl-diskless-sync-delay', '0'] });
  const reps = [];
  for (let i = 0; i < replicas; i++) {
    reps.push(await startRedis({ args: ['--replicaof', '127.0.0.1', String(master.port)] }));
  }
  for (const rep of reps) {
    for (let i = 0; ; i++) {
      if (/master_link_status:up/.test(rep.cli('INFO', 'replication'))) break;
      if (i > 400) throw new Error(`replica ${rep.port} never synced`);
      await delay(25);
    }
  }
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-sentinel-'));
  process.on('exit', () => { try { fs.rmSync(dir, { recursive: true, force: true }); } catch { /* ignore */ } });
  const conf = path.join(dir, 'sentinel.conf');
  fs.writeFileSync(conf, [
    `port ${port}`, 'bind 127.0.0.1', `dir ${dir}`,
    `sentinel monitor ${name} 127.0.0.1 ${master.port} 1`,
    `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
    `sentinel failover-timeout ${name} 5000`,
    `sentinel parallel-syncs ${name} ${replicas}`, '',
  ].join('\n'));
  const sentinel = { port, cli: cliFor(port), proc: spawnTracked('redis-sentinel', [conf, '--loglevel', 'warning']) };
  sentinel.stop = async () => {
    if (!sentinel.proc) return;
    const gone = new Promise((res) => sentinel.proc.once('exit', res));
    sentinel.proc.kill('SIGKILL');
    await gone;
    sentinel.proc = null;
  };
  await waitPong(sentinel.cli, port);
  // The sentinel learns the replicas from the master's INFO: a failover
  // needs it to know them.
  for (let i = 0; ; i++) {
    const known = sentinel.cli('SENTINEL', 'replicas', name).split('\n').filter((l) => l === 'slave').length;
    if (known >= replicas) break;
    if (i > 600) throw new Error(`sentinel knows ${known} of ${replicas} replicas`);
    await delay(25);
  }
  const set = {
    master, replicas: reps, sentinel, name,
    url: `redis+sentinel://127.0.0.1:${port}/${name}/0`,
    masterPort: () => Number(sentinel.cli('SENTINEL', 'get-master-addr-by-name', name).split('\n')[1]),
    stop: async () => {
      await sentinel.stop();
      for (const r of [master, ...reps]) await r.stop();
    },
  };
  return set;
}

// Waits (bounded) until `n` connections hold a pattern subscription
// (PUBSUB NUMPAT counts distinct patterns, not subscribers).
export async function waitPatternSubscribers(r, n) {
  for (let i = 0; i < 200; i++) {
    const subs = r.cli('CLIENT', 'LIST').split('\n').filter((l) => /\bpsub=[1-9]/.test(l)).length;
    if (subs >= n) return;
    await delay(25);
  }
  throw new Error(`fewer than ${n} pattern subscribers`);
}
