// Batch publish through the Redis store: one script call publishes the whole
// batch (one round trip, all or nothing), ids consecutive in body order,
// received on other nodes in that order with the answered ids, and kept in
// the streams for a resume. Redis down: 503 and nothing delivered.
import assert from 'node:assert/strict';
import { htest, publish, publishOk, waitFor } from './lib/herald.mjs';
import { sseOpen, waitMessages } from './lib/sse_client.mjs';
import { startRedis, waitSubscribed } from './lib/redis.mjs';
import { startNode as startRedisNode, storeState } from './lib/redis_nodes.mjs';

// The shared node starter (lib/redis_nodes.mjs) with a short command timeout.
const startNode = (redis, nodeId) => startRedisNode(redis, nodeId, { config: { store: { command_timeout_ms: 500 } } });

const seq = (id) => BigInt(id.split('-')[1]);
const item = (ep, type, detail) => ({ ep, e: { type, detail } });

htest('redis batch: a batch on A reaches B in order with the answered ids, in one round trip', async () => {
  const redis = await startRedis();
  try {
    const [a, b] = [await startNode(redis, 1), await startNode(redis, 2)];
    const onB = await sseOpen(b, { topic: 'room/#' });
    const exact = await sseOpen(b, { topic: 'room/2' });
    await waitSubscribed(redis, 'herald:t:room/2');
    await waitFor(() => Number(redis.cli('PUBSUB', 'NUMPAT')) >= 1, { what: 'pattern subscription' });
    // The first batch loads the script (NOSCRIPT, SCRIPT LOAD, EVALSHA again).
    assert.equal((await publish(a, [item(['warm/up'], 'w', 0)])).status, 200);
    const before = await publishOk(a, 'room/0', 'before');
    const trips0 = (await storeState(a)).round_trips;
    const body = [
      item(['room/1'], 'b0', { big: 1796286524043104123n.toString() }),
      item(['room/2', 'room/3'], 'b1', [1, 'two']),
      item(['room/#'], 'b2', null),
    ];
    for (let i = 3; i < 50; i++) body.push(item([`room/${i % 4}`], `b${i}`, { i }));
    const r = await publish(a, body);
    assert.equal(r.status, 200, r.text);
    const trips1 = (await storeState(a)).round_trips;
    // One for the batch; a node's own periodic commands may fall in between.
    assert.ok(trips1 - trips0 >= 1 && trips1 - trips0 <= 2, `the whole batch is one Redis round trip (${trips1 - trips0})`);
    const ids = r.json.events.flatMap((e) => e.ids);
    assert.equal(ids.length, 51);
    ids.forEach((id, i) => assert.equal(seq(id), seq(before.id) + BigInt(i + 1), `consecutive ids ${ids}`));

    const got = (await waitMessages(onB, 52)).slice(1);
    assert.deepEqual(got.map((m) => m.id), ids, 'B receives the batch in order with the answered ids');
    assert.deepEqual(got.map((m) => m.json.e.type).slice(0, 4), ['b0', 'b1', 'b1', 'b2']);
    assert.deepEqual(got[0].json.e.detail, { big: '1796286524043104123' });
    assert.equal(got[3].json.ep.emitted, 'room/#');
    // room/2 exact on B: its own events and the wildcard publish, in order.
    const want2 = ids.filter((_, i) => [1, 3].includes(i) || (i >= 4 && (i - 1) % 4 === 2));
    const got2 = await waitMessages(exact, want2.length);
    assert.deepEqual(got2.map((m) => m.id), want2);

    // The streams hold the batch: a resume replays it, same ids, same order.
    // (On B, whose live feed has passed them: a resume on a node that never
    // watched these topics is the cross-node resume of issue 12, item 5.)
    const resumed = await sseOpen(b, { topic: 'room/#', lastEventId: before.id });
    const replay = await waitMessages(resumed, 51);
    assert.deepEqual(replay.map((m) => m.id), ids);
    for (const s of [onB, exact, resumed]) s.close();
  } finally {
    await redis.stop();
  }
});

htest('redis batch: Redis down answers 503 and delivers nothing of the batch', async () => {
  const redis = await startRedis();
  try {
    const [a, b] = [await startNode(redis, 1), await startNode(redis, 2)];
    await redis.stop();
    await waitFor(async () => (await storeState(a)).status !== 'up', { what: 'store down' });
    const down = await publish(a, [item(['x/1'], 'during', 1), item(['x/2'], 'during', 2)]);
    assert.equal(down.status, 503, down.text);
    assert.equal(down.headers['retry-after'], '1');
    assert.match(down.text, /Redis/);
    await redis.restart();
    await waitFor(async () => (await storeState(a)).status === 'up' && (await storeState(b)).status === 'up',
      { timeout: 10000, what: 'store up' });
    const onA = await sseOpen(a, { topic: 'x/#' });
    const onB = await sseOpen(b, { topic: 'x/#' });
    await waitFor(() => Number(redis.cli('PUBSUB', 'NUMPAT')) >= 1, { what: 'pattern subscriptions' });
    // Nothing of the refused batch is in the streams or on the wire: a resume
    // from the start of the new epoch and the live streams see only `after`.
    const after = await publish(a, [item(['x/1'], 'after', 1)]);
    assert.equal(after.status, 200, after.text);
    for (const s of [onA, onB]) {
      const [m] = await waitMessages(s, 1);
      assert.equal(m.json.e.type, 'after');
      assert.equal(m.id, after.json.events[0].id);
    }
    const since = after.json.events[0].id.replace(/-\d+$/, '-0');
    const resumed = await sseOpen(b, { topic: 'x/#', lastEventId: since });
    const replay = await waitMessages(resumed, 1);
    assert.deepEqual(replay.map((m) => m.json.e.type), ['after']);
    assert.equal(redis.cli('XLEN', 'herald:s:x/2'), '0', 'the refused batch left nothing in Redis');
    for (const s of [onA, onB, resumed]) s.close();
  } finally {
    await redis.stop();
  }
});

htest('redis batch: a whisper item published on A reaches its connection on B, in order', async () => {
  const redis = await startRedis();
  try {
    const [a, b] = [await startNode(redis, 1), await startNode(redis, 2)];
    const target = await sseOpen(b, { topic: 'wb/1' });
    const other = await sseOpen(b, { topic: 'wb/1' });
    await waitSubscribed(redis, 'herald:t:wb/1');
    const r = await publish(a, [
      item(['wb/1'], 'shout1', 1),
      item([{ topic: 'wb/1', whisper: target.detail.connid }], 'secret', 2),
      item(['wb/1'], 'shout2', 3),
    ]);
    assert.equal(r.status, 200, r.text);
    const ids = r.json.events.map((e) => e.id);
    const got = await waitMessages(target, 3);
    assert.deepEqual(got.map((m) => [m.json.e.type, m.id]), [['shout1', ids[0]], ['secret', ids[1]], ['shout2', ids[2]]]);
    const seen = await waitMessages(other, 2);
    assert.deepEqual(seen.map((m) => m.json.e.type), ['shout1', 'shout2'], 'the whisper went to its connection only');
    for (const s of [target, other]) s.close();
  } finally {
    await redis.stop();
  }
});
