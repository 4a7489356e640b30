// A real redis-server (Debian's package) on a free loopback port for the
// Redis store's tests. startRedis() resolves once it answers; stop() SIGKILLs
// it (a crash, not a clean shutdown); restart() starts it again on the same
// port (empty unless it was started with persistence).
import { spawn, execFileSync } from 'node:child_process';
import { delay, freePort } from './herald.mjs';

export async function startRedis({ args = [] } = {}) {
  const port = await freePort();
  const r = { port, url: `redis://127.0.0.1:${port}/0`, proc: null };
  r.cli = (...cmd) => execFileSync('redis-cli', ['-p', String(port), ...cmd]).toString().trim();
  r.start = async () => {
    r.proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
      '--appendonly', 'no', '--loglevel', 'warning', ...args], { stdio: 'ignore' });
    for (let i = 0; i < 200; i++) {  // bounded: 5 s
      try { if (r.cli('PING') === 'PONG') return; } catch { /* not yet */ }
      await delay(25);
    }
    throw new Error(`redis-server did not answer on ${port}`);
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
export async function waitSubscribed(r, channel) {
  for (let i = 0; i < 200; i++) {
    const out = r.cli('PUBSUB', 'NUMSUB', channel).split('\n');
    if (Number(out[1]) >= 1) return;
    await delay(25);
  }
  throw new Error(`no subscriber on ${channel}`);
}
