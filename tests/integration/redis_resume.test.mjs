// Issue 12 item 5: resume across nodes. A client that was on node A comes
// back on node B with its cursor (SSE Last-Event-ID, the es-web stream's
// last_event_id, the poll's since) and gets exactly what it missed, read
// from the Redis streams (wildcard filters merged in id order), then live
// events; `reset` when the streams were trimmed past the cursor or Redis
// lost its data (a new epoch).
import assert from 'node:assert/strict';
import { htest, publishOk, request, uid, waitFor } from './lib/herald.mjs';
import { sseOpen, waitMessages } from './lib/sse_client.mjs';
import { connect } from './lib/esweb_client.mjs';
import { poll } from './lib/poll_client.mjs';
import { startRedis } from './lib/redis.mjs';
import { startNode, startNodes, seqOf } from './lib/redis_nodes.mjs';

const appFrames = (s) => s.all((f) => f.ep && f.ep.requested !== '@SERVER@');

// Publishes `n` events round-robin over `topics` from the given nodes; returns the ids.
async function publishSome(nodes, topics, n, type) {
  const ids = [];
  for (let i = 0; i < n; i++) {
    ids.push((await publishOk(nodes[i % nodes.length], topics[i % topics.length], type, { i })).id);
  }
  return ids;
}

htest('redis resume: a client of A resumes on B over SSE, es-web stream and poll, wildcard filters merged in id order', async () => {
  const redis = await startRedis();
  try {
    const [a, b, c] = await startNodes(redis);
    const run = uid('res');
    const topics = [`${run}/a`, `${run}/b`, `${run}/c`];
    const filters = [`${run}/+`, `${run}/a`];  // overlapping: each event once
    // On A: one client per transport gets the first events.
    const sse = await sseOpen(a, { topic: filters });
    const stream = await connect(a, { clid: 'r', ep: filters });
    const p0 = await poll(a, { topic: filters, timeout: 0 });
    assert.equal(p0.status, 200);
    const first = await publishSome([a, c], topics, 6, 'before');
    await waitMessages(sse, 6);
    await waitFor(() => appFrames(stream).length === 6, { what: 'stream: 6 events' });
    const p1 = await poll(a, { connid: p0.json.connid, secret: p0.json.secret, since: p0.json.cursor, timeout: 2000 });
    assert.deepEqual(p1.json.events.map((e) => e.id), first);
    const sseCursor = sse.messages().at(-1).id;
    const streamCursor = appFrames(stream).at(-1).id;
    assert.equal(sseCursor, first.at(-1));
    assert.equal(streamCursor, first.at(-1));
    sse.close();
    stream.close();
    // Gone: what it misses is published on A and C (B, with no subscriber
    // of these topics, hears none of it).
    const missed = await publishSome([a, c], topics, 9, 'missed');
    // Back on B with the cursor.
    const sse2 = await sseOpen(b, { topic: filters }, { lastEventId: sseCursor });
    const stream2 = await connect(b, { clid: 'r', ep: filters, last_event_id: streamCursor });
    const p2 = await poll(b, { topic: filters, since: p1.json.cursor, timeout: 2000 });
    assert.equal(p2.status, 200);
    assert.deepEqual(p2.json.events.map((e) => e.id), missed, 'poll on B: exactly what was missed');
    assert.deepEqual(p2.json.events.map((e) => e.ep.emitted), missed.map((_, i) => topics[i % 3]));
    const got = await waitMessages(sse2, missed.length);
    assert.deepEqual(got.map((m) => m.id), missed, 'SSE on B: exactly what was missed, in id order');
    await waitFor(() => appFrames(stream2).length >= missed.length, { what: 'stream on B: the missed events' });
    assert.deepEqual(appFrames(stream2).map((f) => f.id), missed, 'stream on B: exactly what was missed');
    assert.equal(sse2.named('reset').length, 0);
    // Then live, from any node, without a gap or a duplicate.
    const live = await publishSome([c, a, b], topics, 3, 'live');
    const all = await waitMessages(sse2, missed.length + live.length);
    assert.deepEqual(all.map((m) => m.id), [...missed, ...live]);
    await waitFor(() => appFrames(stream2).length >= missed.length + live.length, { what: 'stream: live' });
    assert.deepEqual(appFrames(stream2).map((f) => f.id), [...missed, ...live]);
    const ids = all.map((m) => seqOf(m.id));
    assert.deepEqual(ids, [...ids].sort((x, y) => x - y));
    const p3 = await poll(b, { connid: p2.json.connid, secret: p2.json.secret, since: p2.json.cursor, timeout: 2000 });
    assert.deepEqual(p3.json.events.map((e) => e.id), live);
    sse2.close();
    stream2.close();
  } finally {
    await redis.stop();
  }
});

htest('redis resume: a cursor the trimmed streams no longer cover gets `reset` (trimmed) on another node', async () => {
  const redis = await startRedis();
  try {
    const config = { store: { stream_maxlen: 10 } };
    const a = await startNode(redis, 1, { config });
    const b = await startNode(redis, 2, { config });
    const topic = `trim/${uid('t')}`;
    const old = (await publishOk(a, topic, 'old')).id;
    // MAXLEN ~ trims whole stream nodes (100 entries each by default).
    for (let i = 0; i < 300; i++) await publishOk(a, topic, 'filler', { i });
    assert.ok(Number(redis.cli('XLEN', `herald:s:${topic}`)) < 300, 'the stream was trimmed');
    const s = await sseOpen(b, { topic }, { lastEventId: old });
    const reset = await s.next({ event: 'reset' }, 5000);
    assert.equal(reset.json.e.detail.reason, 'trimmed');
    // Live from there.
    const id = (await publishOk(a, topic, 'after')).id;
    const m = await s.next((e) => e.type === 'message' && e.json.e.type === 'after', 5000);
    assert.equal(m.id, id);
    const p = await poll(b, { topic, since: old, timeout: 0 });
    assert.equal(p.json.events[0].e.type, 'reset');
    assert.equal(p.json.events[0].e.detail.reason, 'trimmed');
    s.close();
  } finally {
    await redis.stop();
  }
});

htest('redis resume: after Redis lost its data (FLUSHALL, new epoch) an old cursor gets `reset` (epoch) on any node', async () => {
  const redis = await startRedis();
  try {
    const a = await startNode(redis, 1);
    const b = await startNode(redis, 2);
    const topic = `lost/${uid('t')}`;
    let old;
    for (let i = 0; i < 5; i++) old = (await publishOk(a, topic, 'old')).id;
    const oldEpoch = old.split('-')[0];
    redis.cli('FLUSHALL');
    const fresh = (await publishOk(a, topic, 'fresh')).id;
    assert.notEqual(fresh.split('-')[0], oldEpoch, 'a new epoch');
    // B hears nothing of this topic: it learns the new epoch from Redis.
    const epochOf = async (h) => {
      const r = await request(h.priv + '/state', { headers: { Authorization: 'Bearer ' + h.token } });
      return String(r.json.history.last || '').split('-')[0];
    };
    for (const node of [a, b]) {
      await waitFor(async () => (await epochOf(node)) === fresh.split('-')[0], { what: 'the nodes learn the new epoch' });
    }
    for (const node of [a, b]) {
      const s = await sseOpen(node, { topic }, { lastEventId: old });
      const reset = await s.next({ event: 'reset' }, 5000);
      assert.equal(reset.json.e.detail.reason, 'epoch');
      s.close();
      const st = await connect(node, { clid: 'e', ep: [topic], last_event_id: old });
      const f = await st.next((x) => x.e && x.e.type === 'reset', 5000);
      assert.equal(f.e.detail.reason, 'epoch');
      st.close();
      const p = await poll(node, { topic, since: old, timeout: 0 });
      assert.equal(p.json.events[0].e.type, 'reset');
      assert.equal(p.json.events[0].e.detail.reason, 'epoch');
    }
  } finally {
    await redis.stop();
  }
});
