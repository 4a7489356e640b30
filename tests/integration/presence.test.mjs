// Presence: @CONNECTION@/<clid> filters get `available` on subscribe and
// `connect` / `disconnect` when connections with that clid open and close.
import assert from 'node:assert/strict';
import { htest, startHerald } from './lib/herald.mjs';
import { connect, keepAlive } from './lib/esweb_client.mjs';

function presenceFrame(f, clid, type, count) {
  assert.deepEqual(f.ep, { requested: `@CONNECTION@/${clid}`, emitted: `@CONNECTION@/${clid}` }, JSON.stringify(f));
  assert.equal(f.e.type, type, JSON.stringify(f));
  // As the original: a string in `available`, a number in connect/disconnect (issue 10.4).
  const n = type === 'available' ? String(count) : count;
  assert.deepEqual(f.e.detail, { clid_instances: n }, JSON.stringify(f));
  assert.ok(Number.isInteger(f.iat), 'presence frames carry iat');
}

htest('presence: available, connect and disconnect with counts, across workers', async () => {
  const h = await startHerald({ workers: 2 });
  const watcher = await connect(h, { clid: 'watcher', ep: ['@CONNECTION@/alice'] }, { label: 'watcher' });
  // available right after connected, with no alice yet
  assert.ok(watcher.frames.length >= 1);
  const av = await watcher.next('available');
  presenceFrame(av, 'alice', 'available', 0);
  assert.equal(watcher.frames.indexOf(av), 1, 'available is the frame right after connected');

  // Several alice connections: with two workers some land on each; counts are node-wide.
  const alices = [];
  for (let i = 1; i <= 4; i++) {
    alices.push(await connect(h, { clid: 'alice', ep: ['x'] }, { label: `alice${i}` }));
    presenceFrame(await watcher.next('connect'), 'alice', 'connect', i);
  }
  // A bob does not concern the watcher.
  const bob = await connect(h, { clid: 'bob', ep: ['x'] }, { label: 'bob' });

  // A second watcher sees the current count on subscribe.
  const w2 = await connect(h, { ep: ['@CONNECTION@/alice', '@CONNECTION@/bob'] }, { label: 'w2' });
  const avs = [await w2.next('available'), await w2.next('available')];
  const byClid = Object.fromEntries(avs.map((f) => [f.ep.emitted, f]));
  presenceFrame(byClid['@CONNECTION@/alice'], 'alice', 'available', 4);
  presenceFrame(byClid['@CONNECTION@/bob'], 'bob', 'available', 1);

  // Client-side closes are noticed.
  for (let i = 3; i >= 0; i--) {
    alices[i].close();
    presenceFrame(await watcher.next('disconnect'), 'alice', 'disconnect', i);
    presenceFrame(await w2.next((f) => f.e.type === 'disconnect' && f.ep.emitted === '@CONNECTION@/alice'), 'alice', 'disconnect', i);
  }
  bob.close();
  presenceFrame(await w2.next((f) => f.e.type === 'disconnect' && f.ep.emitted === '@CONNECTION@/bob'), 'bob', 'disconnect', 0);
  assert.equal(watcher.all((f) => f.ep.emitted === '@CONNECTION@/bob').length, 0, 'watcher never hears of bob');
});

htest('presence: default clid is @ANON_CONNECTION@', async () => {
  const h = await startHerald();
  const watcher = await connect(h, { clid: 'w', ep: ['@CONNECTION@/@ANON_CONNECTION@'] });
  presenceFrame(await watcher.next('available'), '@ANON_CONNECTION@', 'available', 0);
  const anon = await connect(h, { ep: ['x'] });
  presenceFrame(await watcher.next('connect'), '@ANON_CONNECTION@', 'connect', 1);
  const c = await h.connections('clid=@ANON_CONNECTION@');
  assert.deepEqual(c, { '@ANON_CONNECTION@': 1 });
  anon.close();
  presenceFrame(await watcher.next('disconnect'), '@ANON_CONNECTION@', 'disconnect', 0);
});

htest('presence: a stream ended by the server (timeout) also announces disconnect', async () => {
  const h = await startHerald({ config: { stream: { timeout_ms: 800 } } });
  // The watcher keeps itself alive with /alive; the short-lived one times out.
  const watcher = await connect(h, { clid: 'w', ep: ['@CONNECTION@/short'] });
  const ka = keepAlive(h, watcher, { intervalMs: 200, maxCalls: 50 });
  try {
    presenceFrame(await watcher.next('available'), 'short', 'available', 0);
    const short = await connect(h, { clid: 'short', ep: ['x'] });
    presenceFrame(await watcher.next('connect'), 'short', 'connect', 1);
    const end = await short.ended;
    assert.equal(end.complete, true);
    presenceFrame(await watcher.next('disconnect', 5000), 'short', 'disconnect', 0);
  } finally {
    ka.stop();
  }
  assert.deepEqual(ka.errors, [], 'every /alive of the watcher succeeded');
});
