// Issue 12, row "interest-based subscriptions": a node SUBSCRIBEs a topic's
// channel only while a local subscriber needs it, PSUBSCRIBEs a glob for a
// wildcard filter and drops it with the last subscriber; wildcards match both
// ways across nodes; an event a node hears twice (channel and pattern) is
// delivered once; /state shows the subscriptions, the bridge and round trips.
import assert from 'node:assert/strict';
import { htest, publishOk, uid, waitFor } from './lib/herald.mjs';
import { sseOpen, waitMessages } from './lib/sse_client.mjs';
import { connect, barrier } from './lib/esweb_client.mjs';
import { startRedis } from './lib/redis.mjs';
import { startNode, startNodes, storeState, waitConfirmed, startLatencyProxy, warmUp } from './lib/redis_nodes.mjs';

const channels = (redis, glob = 'herald:t:*') => redis.cli('PUBSUB', 'CHANNELS', glob).split('\n').filter(Boolean);
const numpat = (redis) => Number(redis.cli('PUBSUB', 'NUMPAT'));

htest('redis interest: a node holds t:<topic> only while a local subscriber needs it, and a pattern only while a wildcard subscriber does', async () => {
  const redis = await startRedis();
  try {
    const b = await startNode(redis, 2);
    const topic = `kitchen/${uid('k')}`;
    const channel = `herald:t:${topic}`;
    assert.deepEqual(channels(redis), [], 'no topic channel before any subscriber');
    assert.equal(numpat(redis), 0);
    // Two local subscribers share one Redis subscription.
    const s1 = await sseOpen(b, { topic });
    const s2 = await connect(b, { clid: 'i', ep: [topic] });
    await waitFor(() => channels(redis).includes(channel), { what: `SUBSCRIBE ${channel}` });
    assert.equal(redis.cli('PUBSUB', 'NUMSUB', channel).split('\n')[1], '1', 'one subscription for two subscribers');
    s1.close();
    // The other one still needs it: publishing still reaches it.
    await barrier(await startNode(redis, 1), [s2], topic);
    assert.ok(channels(redis).includes(channel));
    s2.close();
    await waitFor(() => !channels(redis).includes(channel), { what: `UNSUBSCRIBE ${channel}` });
    // Wildcards: PSUBSCRIBE on a glob superset, dropped with the last one.
    const w1 = await sseOpen(b, { topic: 'house/+/temp' });
    const w2 = await sseOpen(b, { topic: 'house/+/temp' });
    await waitFor(() => numpat(redis) === 1, { what: 'PSUBSCRIBE' });
    const st = await waitConfirmed(b, { patterns: ['t:house/*'] });
    assert.equal(st.subscriptions.patterns, 1);
    w1.close();
    w2.close();
    await waitFor(() => numpat(redis) === 0, { what: 'PUNSUBSCRIBE with the last wildcard subscriber' });
    assert.deepEqual(channels(redis), []);
  } finally {
    await redis.stop();
  }
});

htest('redis interest: wildcards match both ways across nodes', async () => {
  const redis = await startRedis();
  // C is far from Redis (50 ms): its PSUBSCRIBE lands after the publishes
  // below, and its subscriber still gets them (replayed once confirmed).
  const far = await startLatencyProxy(redis, 50);
  try {
    const [a, b, c] = await startNodes(redis, {}, far);
    const warm = await sseOpen(c, { topic: 'warm' });
    await warmUp(a, warm, 'warm');
    warm.close();
    // B's only subscriber holds a plain topic; C's a wildcard filter.
    const onB = await sseOpen(b, { topic: 'house/kitchen/temp' });
    const onC = await sseOpen(c, { topic: 'house/+/temp' });
    const toAll = (await publishOk(a, 'house/#', 'all-of-house')).id;
    const plain = (await publishOk(a, 'house/kitchen/temp', 'kitchen')).id;
    const [b1, b2] = await waitMessages(onB, 2);
    assert.deepEqual([b1.id, b2.id], [toAll, plain]);
    assert.equal(b1.json.ep.emitted, 'house/#');
    assert.equal(b1.json.ep.requested, 'house/kitchen/temp');
    const [c1, c2] = await waitMessages(onC, 2);
    assert.deepEqual([c1.id, c2.id], [toAll, plain]);
    assert.equal(c2.json.ep.requested, 'house/+/temp');
    assert.equal(c2.json.ep.emitted, 'house/kitchen/temp');
    // And the other way: from C to a plain subscriber on B, a wildcard on A.
    const onA = await sseOpen(a, { topic: 'house/#' });
    const back = (await publishOk(c, 'house/+/temp', 'from-c')).id;
    assert.equal((await waitMessages(onB, 3))[2].id, back);
    assert.equal((await waitMessages(onA, 1))[0].id, back);
    // Not a match: house/garden/light reaches neither B nor C's filter.
    await publishOk(a, 'house/garden/light', 'not-for-them');
    const last = (await publishOk(a, 'house/kitchen/temp', 'last')).id;
    assert.equal((await waitMessages(onB, 4))[3].id, last);
    assert.equal(onB.messages().length, 4);
    assert.equal((await waitMessages(onC, 4))[3].id, last);
    assert.equal(onC.messages().length, 4);
    for (const s of [onA, onB, onC]) s.close();
  } finally {
    far.close();
    await redis.stop();
  }
});

htest('redis interest: an event a node hears on a channel and on a pattern is delivered once', async () => {
  const redis = await startRedis();
  const far = await startLatencyProxy(redis, 50);  // B: 50 ms from Redis
  try {
    const a = await startNode(redis, 1);
    const b = await startNode(far, 2);
    const warm = await connect(b, { clid: 'warm', ep: ['warm'] });
    await warmUp(a, warm, 'warm');
    warm.close();
    const topic = `x/${uid('y')}`;
    const plain = await connect(b, { clid: 'p', ep: [topic] });
    const wild = await connect(b, { clid: 'w', ep: ['x/+'] });
    const both = await connect(b, { clid: 'pw', ep: [topic, 'x/+', 'x/#'] });
    // Published at once: B's subscriptions are still on their way.
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await publishOk(a, topic, 'twice-heard', { i })).id);
    await waitConfirmed(b, { channels: [`t:${topic}`], patterns: ['t:x/*', 't:x*'] });
    for (let i = 5; i < 10; i++) ids.push((await publishOk(a, topic, 'twice-heard', { i })).id);
    await barrier(a, [plain, wild, both], topic);
    for (const s of [plain, wild, both]) {
      const got = s.all((f) => f.e && f.e.type === 'twice-heard').map((f) => f.id);
      assert.deepEqual(got, ids, `${s.label}: once each, in order`);
    }
    for (const s of [plain, wild, both]) s.close();
  } finally {
    far.close();
    await redis.stop();
  }
});

htest('redis interest: /state shows the bridge, the subscriptions held and round trips', async () => {
  const redis = await startRedis();
  try {
    const a = await startNode(redis, 1);
    const topic = `state/${uid('s')}`;
    const s = await sseOpen(a, { topic });
    const w = await sseOpen(a, { topic: 'state/#' });
    await waitConfirmed(a, { channels: [`t:${topic}`], patterns: ['t:state*'] });
    await publishOk(a, topic, 'one');
    await waitMessages(s, 1);
    const st = await storeState(a);
    assert.equal(st.kind, 'redis');
    assert.equal(st.status, 'up');
    assert.deepEqual(st.bridge, { commands: 'up', subscriber: 'up', reconnects: 0 });
    // The wildcard channel, the node's own channel, the topic; one pattern.
    assert.ok(st.subscriptions.channel_list.includes('herald:w'));
    assert.ok(st.subscriptions.channel_list.includes('herald:n:1'));
    assert.ok(st.subscriptions.channel_list.includes(`herald:t:${topic}`));
    assert.equal(st.subscriptions.channels, st.subscriptions.channel_list.length);
    assert.deepEqual(st.subscriptions.pattern_list, ['herald:t:state*']);
    assert.equal(st.subscriptions.patterns, 1);
    assert.equal(st.subscriptions.unconfirmed, 0);
    assert.ok(st.round_trips > 0, 'commands answered');
    assert.equal(typeof st.reads.count, 'number');
    // A resume reads the streams: one read, one round trip for a plain filter.
    const before = st.reads;
    const r = await sseOpen(a, { topic }, { lastEventId: s.messages()[0].id.replace(/-\d+$/, '-0') });
    await waitFor(() => r.messages().length === 1, { what: 'replayed event' });
    const after = (await storeState(a)).reads;
    assert.ok(after.count >= before.count + 1);
    r.close();
    s.close();
    w.close();
  } finally {
    await redis.stop();
  }
});
