// Issue 12 item 8: scripts/cluster.sh starts Redis, three herald nodes and
// nginx as a round-robin load balancer in one command. Subscribers connected
// through nginx land on different nodes (told by the node bits of their
// connids), publishes through nginx land on different nodes too, and every
// subscriber gets every event with the same ids in the same order;
// `cluster.sh stop` leaves nothing running. It refuses a busy port and a
// missing binary before starting anything, and a start that fails midway
// stops what it had started.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { htest, HERALD_BIN, REPO_ROOT, freePort, publish, waitFor } from './lib/herald.mjs';
import { sseOpen, waitMessages } from './lib/sse_client.mjs';

const SCRIPT = path.join(REPO_ROOT, 'scripts', 'cluster.sh');
const TOKEN = 'cluster-test-token';

function runScript(args, { timeoutMs = 60000 } = {}) {
  return new Promise((resolve) => {
    execFile('bash', [SCRIPT, ...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code ?? 'killed') : 0, stdout, stderr });
    });
  });
}

function portFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

// A base port with `n` free ports from it (the nodes take consecutive ports).
async function freeRange(n) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = await freePort();
    if (base + n > 65535) continue;
    let ok = true;
    for (let i = 1; i < n && ok; i++) ok = await portFree(base + i);
    if (ok) return base;
  }
  throw new Error(`no ${n} consecutive free ports`);
}

// connid = seq << 16 | node << 6 | worker (docs/protocol.md "Connection ids").
const nodeOf = (connid) => Math.floor(connid / 64) % 1024;

function alive(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

htest('cluster.sh: three nodes behind nginx; subscribers on every node get every publish; stop leaves nothing', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-cluster-test-'));
  const [lb, lbPriv, redisPort] = [await freePort(), await freePort(), await freePort()];
  const nodePort = await freeRange(6);
  const ports = [lb, lbPriv, redisPort, ...[0, 1, 2, 3, 4, 5].map((i) => nodePort + i)];
  const start = await runScript(['start', '--herald', HERALD_BIN, '--dir', dir, '--port', String(lb),
    '--private-port', String(lbPriv), '--redis-port', String(redisPort), '--node-port', String(nodePort),
    '--token', TOKEN]);
  let pids = [];
  try {
    assert.equal(start.code, 0, `cluster.sh start failed: ${start.stderr}`);
    assert.match(start.stdout, new RegExp(`http://127\\.0\\.0\\.1:${lb}/sse\\?topic=`));
    assert.match(start.stdout, new RegExp(`Authorization: Bearer ${TOKEN}`));
    pids = fs.readFileSync(path.join(dir, 'pids'), 'utf8').trim().split('\n').map((l) => {
      const [name, pid] = l.split(' ');
      return { name, pid: Number(pid) };
    });
    assert.deepEqual(pids.map((p) => p.name), ['redis-server', 'herald', 'herald', 'herald', 'nginx']);

    // Six subscribers through nginx: a plain and a wildcard filter per node.
    const viaLb = { pubPort: lb };
    const subs = [];
    for (let i = 0; i < 6; i++) subs.push(await sseOpen(viaLb, { topic: i % 2 ? 'room/#' : 'room/a' }));
    const nodes = await Promise.all(subs.map(async (s) => nodeOf((await s.connected).connid)));
    assert.deepEqual([...new Set(nodes)].sort(), [1, 2, 3], `connids' nodes: ${nodes}`);

    // Every node holds its Redis subscriptions before we publish.
    const cli = (...a) => execFileSync('redis-cli', ['-p', String(redisPort), ...a]).toString();
    await waitFor(() => {
      const numsub = Number(cli('PUBSUB', 'NUMSUB', 'herald:t:room/a').split('\n')[1]);
      const psubs = [...cli('CLIENT', 'LIST', 'TYPE', 'pubsub').matchAll(/ psub=(\d+)/g)]
        .filter((m) => Number(m[1]) > 0).length;
      return numsub === 3 && psubs === 3;
    }, { timeout: 10000, what: 'a channel and a pattern subscription on each node' });

    // Publishes through nginx land on the nodes in turn.
    const priv = { token: TOKEN, priv: `http://127.0.0.1:${lbPriv}` };
    const sent = [];
    for (let i = 0; i < 6; i++) {
      const r = await publish(priv, { ep: ['room/a'], e: { type: 'n', detail: { i } } });
      assert.equal(r.status, 200, r.text);
      sent.push(r.json.id);
    }
    for (const s of subs) {
      const got = await waitMessages(s, sent.length);
      assert.deepEqual(got.map((m) => m.id), sent, `${s.label}`);
      assert.deepEqual(got.map((m) => m.json.e.detail.i), [0, 1, 2, 3, 4, 5]);
    }
    const state = await fetch(`http://127.0.0.1:${lbPriv}/state`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    assert.equal((await state.json()).store.kind, 'redis');
    for (const s of subs) s.close();
  } finally {
    const stop = await runScript(['stop', '--dir', dir]);
    assert.equal(stop.code, 0, stop.stderr);
  }
  for (const p of pids) assert.equal(alive(p.pid), false, `${p.name} ${p.pid} still running`);
  for (const p of ports) assert.equal(await portFree(p), true, `port ${p} still in use`);
  assert.equal(fs.existsSync(path.join(dir, 'pids')), false);
  fs.rmSync(dir, { recursive: true, force: true });
}, { timeout: 60000 });

htest('cluster.sh: refuses a busy port and a missing herald binary, starting nothing; a node that dies at start stops the rest', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-cluster-test-'));
  const busy = net.createServer();
  await new Promise((r) => busy.listen(0, '127.0.0.1', r));
  try {
    const nodePort = await freeRange(6);
    const common = ['--dir', dir, '--private-port', String(await freePort()),
      '--redis-port', String(await freePort()), '--node-port', String(nodePort)];
    const r1 = await runScript(['start', '--herald', HERALD_BIN, '--port', String(busy.address().port), ...common]);
    assert.notEqual(r1.code, 0);
    assert.match(r1.stderr, new RegExp(`port ${busy.address().port} on 127\\.0\\.0\\.1 is busy`));
    const r2 = await runScript(['start', '--herald', path.join(dir, 'no-such-herald'),
      '--port', String(await freePort()), ...common]);
    assert.notEqual(r2.code, 0);
    assert.match(r2.stderr, /herald binary .*no-such-herald.* is missing/);
    assert.equal(fs.existsSync(path.join(dir, 'pids')), false, 'nothing was started');

    // A "herald" that exits at once: Redis was started first and must be gone.
    const redisPort = await freePort();
    const r3 = await runScript(['start', '--herald', '/bin/false', '--port', String(await freePort()),
      '--dir', dir, '--private-port', String(await freePort()), '--redis-port', String(redisPort),
      '--node-port', String(nodePort)]);
    assert.notEqual(r3.code, 0);
    assert.match(r3.stderr, /herald node 1 did not start/);
    assert.match(r3.stderr, /stopping what was started/);
    assert.equal(await portFree(redisPort), true, 'redis-server left running');
    assert.equal(fs.existsSync(path.join(dir, 'pids')), false);
  } finally {
    busy.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
