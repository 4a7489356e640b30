// Issue 12, row "no loss across Redis kill/restart": three herald nodes on
// one real redis-server, subscribers on every node over SSE and es-web
// streams (and poll sessions), publishers on several nodes. Redis is
// SIGKILLed mid-stream: streams stay open and heartbeats flow, /state says
// the store is down, /event answers 503 with a reason and Retry-After.
// Restarted with its append-only file, every acknowledged event reaches every
// subscriber exactly once, in id order. Restarted empty, every subscriber is
// told `reset` (reason `epoch`) without waiting for a publish, and then gets
// the new events live.
import assert from 'node:assert/strict';
import { htest, startHerald, publish, publishOk, request, waitFor, uid } from './lib/herald.mjs';
import { sseOpen } from './lib/sse_client.mjs';
import { connect as eswebConnect } from './lib/esweb_client.mjs';
import { poll, pollStart } from './lib/poll_client.mjs';
import { startRedis, waitSubscribed, waitPatternSubscribers } from './lib/redis.mjs';

const HEARTBEAT_MS = 200;

async function startNode(redis, nodeId, store = {}) {
  return startHerald({
    extraArgs: ['--store', 'redis', '--redis', redis.url, '--node-id', String(nodeId)],
    config: {
      store: { connect_timeout_ms: 300, command_timeout_ms: 500, ...store },
      sse: { heartbeat_ms: HEARTBEAT_MS },
      stream: { heartbeat_ms: HEARTBEAT_MS, timeout_ms: 600000 },
    },
  });
}

async function storeState(h) {
  const r = await request(h.priv + '/state', { headers: { Authorization: 'Bearer ' + h.token } });
  return r.json.store;
}

// One SSE and one es-web subscriber per node, on `prefix`/a and `prefix`/b
// (a plain filter each for SSE, a wildcard for es-web).
async function subscribeEverywhere(nodes, redis, prefix) {
  const subs = [];
  for (const h of nodes) {
    const sse = await sseOpen(h, { topic: [`${prefix}/a`, `${prefix}/b`] });
    sse.kind = 'sse';
    const es = await eswebConnect(h, { ep: [`${prefix}/+`] });
    es.kind = 'esweb';
    subs.push(sse, es);
  }
  await waitSubscribed(redis, `herald:t:${prefix}/a`, nodes.length);
  await waitSubscribed(redis, `herald:t:${prefix}/b`, nodes.length);
  await waitPatternSubscribers(redis, nodes.length);
  return subs;
}

// Application events a subscriber got: {id, type}.
function received(s) {
  if (s.kind === 'sse') return s.events.filter((e) => e.type === 'message').map((e) => ({ id: e.id, type: e.json.e.type }));
  return s.frames.filter((f) => f.ep && f.ep.emitted !== '@SERVER@' && f.e).map((f) => ({ id: f.id, type: f.e.type }));
}
function controls(s, type) {
  if (s.kind === 'sse') return s.events.filter((e) => e.type === type).map((e) => e.json);
  return s.frames.filter((f) => f.ep && f.ep.emitted === '@SERVER@' && f.e && f.e.type === type);
}
function heartbeats(s) {
  return s.kind === 'sse' ? s.comments : s.heartbeats;
}
const seqOf = (id) => Number(String(id).split('-')[1]);

// Publishes on `h` until stop(), one at a time, retrying on 503. Each
// publish has a unique type; acknowledged ones are recorded with their id.
function publisher(h, prefix, acked, stats) {
  let stopped = false;
  const run = (async () => {
    for (let i = 0; !stopped; i++) {
      const type = uid('ev');
      const topic = `${prefix}/${i % 2 ? 'b' : 'a'}`;
      let r;
      try {
        r = await publish(h, { ep: [topic], e: { type, detail: { i } } });
      } catch (e) {
        stats.errors.push(e.message);
        continue;
      }
      if (r.status === 200) {
        acked.push({ id: r.json.id, type });
      } else if (r.status === 503) {
        stats.unavailable += 1;
        stats.last503 = r;
        await new Promise((res) => setTimeout(res, 20));
      } else {
        stats.errors.push(`${r.status} ${r.text}`);
      }
    }
  })();
  return { stop: async () => { stopped = true; await run; } };
}

htest('redis SIGKILLed and restarted with AOF mid-stream: streams stay open with heartbeats, /event answers 503 + Retry-After while down, and every acknowledged event reaches every subscriber on every node exactly once, in id order', async () => {
  const redis = await startRedis({ aof: true });
  try {
    const nodes = [await startNode(redis, 1), await startNode(redis, 2), await startNode(redis, 3)];
    const prefix = uid('aof');
    const subs = await subscribeEverywhere(nodes, redis, prefix);
    const acked = [];
    const stats = { unavailable: 0, errors: [] };
    const pubs = [publisher(nodes[0], prefix, acked, stats), publisher(nodes[1], prefix, acked, stats)];
    await waitFor(() => acked.length >= 100, { timeout: 15000, what: '100 acknowledged before the kill' });
    // Twice: the nodes' two connections come back in either order.
    for (let cycle = 0; cycle < 2; cycle++) {
      await redis.stop();
      const killedAt = Date.now();
      for (const h of nodes) await waitFor(async () => (await storeState(h)).status === 'down', { what: 'store down' });
      const hb = subs.map(heartbeats);
      await waitFor(() => subs.every((s, i) => heartbeats(s) > hb[i]), { timeout: 10000, what: 'heartbeats while down' });
      const ackedWhileDown = acked.length;
      const unavailable = stats.unavailable;
      await waitFor(() => stats.unavailable > unavailable, { what: 'a 503 while down' });
      // While down: the streams stay open, /state says why, a publish is
      // refused with a reason and a retry hint.
      assert.ok(subs.every((s) => !s.isEnded), 'every stream stays open');
      assert.equal(stats.last503.headers['retry-after'], '1');
      assert.match(stats.last503.text, /Redis/);
      assert.match((await storeState(nodes[2])).detail, /connect|lost|disconnected/);
      await redis.restart();
      const restartedAt = Date.now();
      for (const h of nodes) await waitFor(async () => (await storeState(h)).status === 'up', { timeout: 10000, what: 'store up' });
      await waitFor(() => acked.length > ackedWhileDown, { timeout: 10000, what: 'a publish acknowledged after the restart' });
      console.log(`redis restart ${cycle}: down ${restartedAt - killedAt} ms; first publish acknowledged ${Date.now() - restartedAt} ms after Redis answered again`);
      await waitFor(() => acked.length >= ackedWhileDown + 100, { timeout: 15000, what: '100 acknowledged after the restart' });
    }
    await Promise.all(pubs.map((p) => p.stop()));
    assert.deepEqual(stats.errors, []);
    // The last acknowledged event on each subscriber means it has everything
    // before it (one connection gets events in id order).
    const last = acked.reduce((a, b) => (seqOf(a.id) > seqOf(b.id) ? a : b));
    for (const s of subs) {
      await waitFor(() => received(s).some((e) => e.id === last.id), { timeout: 15000, what: `${s.label} (${s.kind}) has the last event` });
    }
    for (const s of subs) {
      const got = received(s);
      const ids = got.map((e) => e.id);
      assert.equal(new Set(ids).size, ids.length, `${s.label}: no duplicate`);
      for (let i = 1; i < ids.length; i++) assert.ok(seqOf(ids[i]) > seqOf(ids[i - 1]), `${s.label}: id order at ${i}`);
      const byId = new Map(got.map((e) => [e.id, e.type]));
      const missing = acked.filter((a) => byId.get(a.id) !== a.type);
      assert.deepEqual(missing, [], `${s.label} (${s.kind}): every acknowledged event, with its own id`);
      assert.equal(controls(s, 'reset').length, 0, `${s.label}: no reset (Redis kept its data)`);
      assert.ok(!s.isEnded, `${s.label}: still open`);
    }
  } finally {
    await redis.stop();
  }
}, { timeout: 90000 });

htest('redis restarted empty: every subscriber on every node gets `reset` (epoch) without a publish, then new events live; poll sessions get it on their next poll', async () => {
  const redis = await startRedis();
  try {
    const nodes = [await startNode(redis, 1), await startNode(redis, 2), await startNode(redis, 3)];
    const prefix = uid('empty');
    const subs = await subscribeEverywhere(nodes, redis, prefix);
    const session = await pollStart(nodes[1], { topic: `${prefix}/a`, timeout: 0 });
    const before = await publishOk(nodes[0], `${prefix}/a`, 'before');
    for (const s of subs) await waitFor(() => received(s).length === 1, { what: `${s.label} got 'before'` });
    // A poll held across the restart, and a session that polls afterwards.
    const held = await pollStart(nodes[2], { topic: `${prefix}/b`, timeout: 0 });
    const heldPoll = poll(nodes[2], { connid: held.connid, secret: held.secret, since: before.id, timeout: 30000 }, { timeoutMs: 40000 });
    await redis.stop();
    await redis.restart();
    for (const s of subs) {
      const [reset] = await waitFor(() => { const r = controls(s, 'reset'); return r.length ? r : null; },
        { timeout: 15000, what: `${s.label} (${s.kind}) reset` });
      assert.equal(reset.e.detail.reason, 'epoch');
    }
    const answered = await heldPoll;
    assert.equal(answered.status, 200);
    assert.deepEqual(answered.json.events.map((e) => e.e.type), ['reset']);
    assert.equal(answered.json.events[0].e.detail.reason, 'epoch');
    // New events of the new epoch reach everyone live (their ids start again).
    const after = [];
    for (let i = 0; i < 5; i++) after.push((await publishOk(nodes[i % 3], `${prefix}/${i % 2 ? 'b' : 'a'}`, `after${i}`)).id);
    assert.notEqual(after[0].split('-')[0], before.id.split('-')[0], 'a new epoch');
    for (const s of subs) {
      await waitFor(() => received(s).length === 6, { timeout: 10000, what: `${s.label} (${s.kind}) got the new events` });
      assert.deepEqual(received(s).map((e) => e.id), [before.id, ...after]);
      assert.equal(controls(s, 'reset').length, 1, 'told once');
    }
    // The session that was not polling hears it with its next poll.
    const next = await poll(nodes[1], { connid: session.connid, secret: session.secret, since: before.id, timeout: 0 });
    assert.equal(next.status, 200);
    const resets = next.json.events.filter((e) => e.e.type === 'reset');
    assert.equal(resets.length, 1);
    assert.equal(resets[0].e.detail.reason, 'epoch');
    assert.equal(next.json.cursor.split('-')[0], after[0].split('-')[0]);
    const answeredCursor = await poll(nodes[2], { connid: held.connid, secret: answered.json.secret, since: answered.json.cursor, timeout: 0 });
    assert.deepEqual(answeredCursor.json.events.map((e) => e.e.type), ['after1', 'after3']);
  } finally {
    await redis.stop();
  }
});
