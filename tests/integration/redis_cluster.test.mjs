// Issue 12, first rows: nodes sharing one real redis-server. A publish on one
// node reaches the subscribers of the others with the same ids in the same
// order; Redis down answers 503 and /state says so; Redis back, publishing
// resumes. (The full multi-node suite — every transport, 10,000 events,
// whisper/kick/presence across nodes, Sentinel — is still to come: see
// docs/scaling.md.)
import assert from 'node:assert/strict';
import { htest, publish, publishOk, waitFor } from './lib/herald.mjs';
import { sseOpen, waitMessages } from './lib/sse_client.mjs';
import { startRedis, waitSubscribed } from './lib/redis.mjs';
import { startNode as startRedisNode, storeState } from './lib/redis_nodes.mjs';

// The shared node starter (lib/redis_nodes.mjs) with a short command timeout.
const startNode = (redis, nodeId) => startRedisNode(redis, nodeId, { config: { store: { command_timeout_ms: 500 } } });

htest('redis: a publish on node A reaches SSE subscribers on B and C with the same ids in order', async () => {
  const redis = await startRedis();
  try {
    const [a, b, c] = [await startNode(redis, 1), await startNode(redis, 2), await startNode(redis, 3)];
    const onB = await sseOpen(b, { topic: 'room/1' });
    const onC = await sseOpen(c, { topic: 'room/+' });
    await waitSubscribed(redis, 'herald:t:room/1');
    await waitFor(() => Number(redis.cli('PUBSUB', 'NUMPAT')) >= 1, { what: 'pattern subscription' });
    const sent = [];
    for (let i = 0; i < 20; i++) sent.push((await publishOk(a, 'room/1', 'n', { i, big: 1796286524043104123n.toString() })).id);
    const gotB = await waitMessages(onB, 20);
    const gotC = await waitMessages(onC, 20);
    assert.deepEqual(gotB.map((m) => m.id), sent);
    assert.deepEqual(gotC.map((m) => m.id), sent);
    assert.deepEqual(gotB.map((m) => m.json.e.detail.i), [...Array(20).keys()]);
    assert.equal((await storeState(a)).kind, 'redis');
    assert.equal((await storeState(a)).status, 'up');
    onB.close();
    onC.close();
  } finally {
    await redis.stop();
  }
});

htest('redis: a wildcard publish on A reaches a plain subscriber on B (two-way matching)', async () => {
  const redis = await startRedis();
  try {
    const [a, b] = [await startNode(redis, 1), await startNode(redis, 2)];
    const onB = await sseOpen(b, { topic: 'house/kitchen/temp' });
    await waitSubscribed(redis, 'herald:t:house/kitchen/temp');
    const id = (await publishOk(a, 'house/#', 'all')).id;
    const [m] = await waitMessages(onB, 1);
    assert.equal(m.id, id);
    assert.equal(m.json.ep.emitted, 'house/#');
    onB.close();
  } finally {
    await redis.stop();
  }
});

htest('redis: while Redis is down /event answers 503 with Retry-After and /state says down; back up, publishing resumes', async () => {
  const redis = await startRedis();
  try {
    const a = await startNode(redis, 1);
    await publishOk(a, 'x', 'before');
    await redis.stop();
    await waitFor(async () => (await storeState(a)).status !== 'up', { what: 'store down' });
    const r = await publish(a, { ep: ['x'], e: { type: 'during' } });
    assert.equal(r.status, 503);
    assert.equal(r.headers['retry-after'], '1');
    assert.match(r.text, /Redis/);
    assert.match((await storeState(a)).detail, /connect|lost|disconnected/);
    await redis.restart();
    await waitFor(async () => (await storeState(a)).status === 'up', { timeout: 10000, what: 'store up' });
    // Redis came back empty: the ids start again under a new epoch.
    await publishOk(a, 'x', 'after');
  } finally {
    await redis.stop();
  }
});

htest('redis: a bad --redis URL or store.kind is a config error naming it', async () => {
  const { runHerald, tmpFile } = await import('./lib/herald.mjs');
  const file = tmpFile('redis.json', JSON.stringify({ store: { kind: 'redis', redis_url: 'http://x' } }));
  const bad = await runHerald(['--check-config', file]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr + bad.stdout, /store.redis_url must start with redis:\/\//);
  const kind = await runHerald(['--store', 'disk']);
  assert.notEqual(kind.code, 0);
  assert.match(kind.stderr, /--store: expected memory or redis/);
});
