// Issue 12, row "whisper/kick on another node": nodes sharing one real
// redis-server. A whisper published on A reaches its target connection on B
// (stream and SSE) and nobody else; /disconnect on A closes the matching
// connections on every live node (or only on a connid's own node) and
// answers the cluster-wide total.
import assert from 'node:assert/strict';
import { htest, startHerald, publish, publishOk, request, uid, waitFor } from './lib/herald.mjs';
import { connect } from './lib/esweb_client.mjs';
import { sseOpen } from './lib/sse_client.mjs';
import { startRedis, waitSubscribed } from './lib/redis.mjs';
import { mint, claims } from './lib/jwt.mjs';

const SECRET = 'whisper-kick-secret-0123456789abcdef';

async function startNode(redis, nodeId) {
  return startHerald({
    extraArgs: ['--store', 'redis', '--redis', redis.url, '--node-id', String(nodeId)],
    config: {
      store: { connect_timeout_ms: 300, command_timeout_ms: 1000 },
      cluster: { node_ttl_ms: 1500, request_timeout_ms: 2000 },
      auth: { jwt_hs256_secret: SECRET },
    },
  });
}

// Starts the nodes and waits until each sees all of them live.
async function startCluster(redis, ids) {
  const nodes = [];
  for (const id of ids) nodes.push(await startNode(redis, id));
  for (const n of nodes) {
    await waitFor(async () => ((await n.state()).cluster?.live_nodes || []).length === ids.length,
      { timeout: 10000, what: 'every node live' });
  }
  return nodes;
}

function kick(h, body) {
  return request(h.priv + '/disconnect', {
    method: 'POST', headers: { Authorization: `Bearer ${h.token}` }, body,
  });
}

async function kickOk(h, body, closed) {
  const r = await kick(h, body);
  assert.equal(r.status, 200, `disconnect ${JSON.stringify(body)} → ${r.status} ${r.text}`);
  assert.deepEqual(r.json, { closed }, `disconnect ${JSON.stringify(body)}`);
}

// A connid no live node owns: node 77, worker 0.
const deadNodeConnid = (seq) => seq * 2 ** 16 + 77 * 2 ** 6;

htest('redis: a whisper published on A reaches its target on B over the stream and SSE, and nobody else', async () => {
  const redis = await startRedis();
  try {
    const [a, b] = await startCluster(redis, [1, 2]);
    const topic = `wk/${uid('t')}`;
    const stream = await connect(b, { clid: 'st', ep: [topic] }, { label: 'stream' });
    const sse = await sseOpen(b, { topic, clid: 'sse' }, { label: 'sse' });
    const local = await connect(a, { ep: [topic] }, { label: 'on A' });
    await waitSubscribed(redis, `herald:t:${topic}`);

    let r = await publish(a, { ep: [{ topic, whisper: stream.detail.connid }], e: { type: 'to-stream', detail: { n: 1 } } });
    assert.equal(r.status, 200, r.text);
    const f = await stream.next('to-stream');
    assert.equal(f.id, r.json.id, 'the id the publisher got');
    assert.deepEqual(f.e.detail, { n: 1 });

    r = await publish(a, { ep: [{ topic, whisper: sse.detail.connid }], e: { type: 'to-sse' } });
    assert.equal(r.status, 200, r.text);
    const m = await sse.next((e) => e.type === 'message' && e.json.e.type === 'to-sse', 5000);
    assert.equal(m.id, r.json.id);

    // An unknown connid (its node is not in the cluster) is answered as on
    // one node: accepted, delivered to nobody.
    r = await publish(a, { ep: [{ topic, whisper: deadNodeConnid(5) }], e: { type: 'to-nobody' } });
    assert.equal(r.status, 200, r.text);

    // A shout after them: each subscriber has everything meant for it by then.
    const marker = (await publishOk(a, topic, 'marker')).id;
    await stream.next('marker');
    await sse.next((e) => e.type === 'message' && e.id === marker, 5000);
    await local.next('marker');
    assert.equal(stream.all('to-sse').length + stream.all('to-nobody').length, 0, 'stream got only its whisper');
    assert.deepEqual(sse.messages().map((e) => e.json.e.type), ['to-sse', 'marker'], 'SSE got only its whisper');
    assert.equal(local.all((x) => x.e.type.startsWith('to-')).length, 0, 'a bystander on A got no whisper');
  } finally {
    await redis.stop();
  }
});

htest('redis: /disconnect on A closes connections on B and C by clid, space, user and connid, with the total', async () => {
  const redis = await startRedis();
  try {
    const [a, b, c] = await startCluster(redis, [1, 2, 3]);
    const clid = uid('kc');
    const byClid = [
      await connect(a, { clid, ep: ['k/x'] }, { label: 'clid on A' }),
      await connect(b, { clid, ep: ['k/x'] }, { label: 'clid on B' }),
      await connect(b, { clid, ep: ['k/x'] }, { label: 'clid on B 2' }),
      await connect(c, { clid, ep: ['k/x'] }, { label: 'clid on C' }),
    ];
    const other = await connect(c, { clid: 'other', ep: ['k/x'] }, { label: 'other' });
    await kickOk(a, { clid, reason: 'cluster-wide' }, 4);
    for (const s of byClid) {
      assert.equal((await s.next('disconnect')).e.detail.reason, 'cluster-wide', s.label);
      await s.ended;
    }
    assert.equal(other.isEnded, false);

    const space = uid('sp');
    const inSpace = [await sseOpen(b, { space, channel: 'c' }), await sseOpen(c, { space, channel: 'c' })];
    await kickOk(a, { space, reason: 'maintenance' }, 2);
    for (const s of inSpace) {
      assert.deepEqual((await s.next({ event: 'disconnect' }, 5000)).json.e.detail, { reason: 'maintenance' });
    }

    const user = uid('user');
    const token = mint('HS256', SECRET, claims({ spaces: ['shop'], sub: user }));
    const auth = { headers: { Authorization: `Bearer ${token}` } };
    const asUser = [await sseOpen(c, { space: 'shop', channel: 'o' }, auth), await sseOpen(b, { space: 'shop', channel: 'o' }, auth)];
    await kickOk(a, { user }, 2);
    for (const s of asUser) await s.next({ event: 'disconnect' }, 5000);

    // A connid goes to its own node only; a connid no live node owns closes nothing.
    const one = await connect(c, { ep: ['k/y'] }, { label: 'one' });
    await kickOk(a, { connid: one.detail.connid }, 1);
    assert.equal((await one.next('disconnect')).e.detail.reason, 'kicked');
    await kickOk(b, { connid: deadNodeConnid(3) }, 0);
    await kickOk(a, { clid: 'nobody-has-this' }, 0);
    assert.equal(other.isEnded, false, 'what matched no selector stays');
    assert.equal((await c.state()).closed.kicked, 4, 'C closed its own: 1 by clid, 1 space, 1 user, 1 connid');
  } finally {
    await redis.stop();
  }
});

htest('redis: /disconnect names the nodes that did not answer (a stopped node), and still closes the rest', async () => {
  const redis = await startRedis();
  try {
    const [a, b, c] = await startCluster(redis, [1, 2, 3]);
    const clid = uid('kd');
    const onB = await connect(b, { clid, ep: ['k/z'] });
    // C stops answering but stays registered until its heartbeat expires.
    c.proc.kill('SIGSTOP');
    try {
      const r = await kick(a, { clid });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json, { closed: 1, unanswered_nodes: [3] });
      await onB.next('disconnect');
    } finally {
      c.proc.kill('SIGCONT');
    }
  } finally {
    await redis.stop();
  }
});
