// Issue 12, item 4: tickets and long-poll sessions across nodes sharing one
// real redis-server. A ticket issued on node A is redeemed on B, once, within
// its TTL; Redis down, redemption answers 503. A poll session whose polls
// alternate between A and B gets every event once, in order; a whisper and a
// /disconnect reach it after it moved; an expired token is still refused.
import assert from 'node:assert/strict';
import { htest, startHerald, publish, publishOk, request, waitFor, delay, uid } from './lib/herald.mjs';
import { sseConnect } from './lib/sse_client.mjs';
import { poll, qs } from './lib/poll_client.mjs';
import { startRedis } from './lib/redis.mjs';
import { mint, claims, nowS } from './lib/jwt.mjs';

const SECRET = 'rs-secret-0123456789abcdef0123456789';

async function startNode(redis, nodeId, config = {}) {
  return startHerald({
    extraArgs: ['--store', 'redis', '--redis', redis.url, '--node-id', String(nodeId), '--jwt-hs256-secret', SECRET],
    config: { store: { connect_timeout_ms: 300, command_timeout_ms: 500 }, auth: { jwt_leeway_s: 0 }, ...config },
  });
}

const bearer = (t) => ({ Authorization: `Bearer ${t}` });

async function ticket(h, token) {
  const r = await request(h.pub + '/ticket', { method: 'POST', headers: bearer(token) });
  assert.equal(r.status, 200, r.text);
  return r.json.ticket;
}

// Opens an SSE stream and returns its status (the stream is closed again).
async function sseStatus(h, query) {
  const s = sseConnect(h, query);
  const r = await s.response;
  s.close();
  return { status: r.status, headers: r.headers, text: s.rawText };
}

async function storeState(h) {
  const r = await request(h.priv + '/state', { headers: { Authorization: 'Bearer ' + h.token } });
  return r.json.store;
}

htest('redis tickets: issued on A, redeemed once on B; a second redemption anywhere and an expired ticket refused', async () => {
  const redis = await startRedis();
  try {
    const [a, b] = [await startNode(redis, 1, { auth: { jwt_leeway_s: 0, ticket_ttl_ms: 400 } }),
      await startNode(redis, 2, { auth: { jwt_leeway_s: 0, ticket_ttl_ms: 400 } })];
    const space = uid('sp');
    const token = mint('HS256', SECRET, claims({ spaces: [space] }));
    const t = await ticket(a, token);
    const q = { space, channel: 'c', ticket: t };
    assert.equal((await sseStatus(b, q)).status, 200);
    const again = await sseStatus(b, q);
    assert.equal(again.status, 401);
    assert.match(again.text, /ticket/);
    assert.equal((await sseStatus(a, q)).status, 401);
    // Long polling and the es-web stream take tickets the same way.
    const t2 = await ticket(b, token);
    const p = await poll(a, { space, channel: 'c', ticket: t2 });
    assert.equal(p.status, 200, p.text);
    assert.equal((await poll(b, { space, channel: 'c', ticket: t2 })).status, 401);
    // Expired: Redis dropped it at its TTL.
    const t3 = await ticket(a, token);
    await delay(800);  // past ticket_ttl_ms (400): expiry is the point
    assert.equal((await sseStatus(b, { space, channel: 'c', ticket: t3 })).status, 401);
  } finally {
    await redis.stop();
  }
});

htest('redis tickets: while Redis is down, issuing and redeeming answer 503 with Retry-After', async () => {
  const redis = await startRedis();
  try {
    const [a, b] = [await startNode(redis, 1), await startNode(redis, 2)];
    const space = uid('sp');
    const token = mint('HS256', SECRET, claims({ spaces: [space] }));
    const t = await ticket(a, token);
    await redis.stop();
    await waitFor(async () => (await storeState(b)).status !== 'up', { what: 'store down' });
    const r = await sseStatus(b, { space, channel: 'c', ticket: t });
    assert.equal(r.status, 503);
    assert.equal(r.headers['retry-after'], '1');
    const issue = await request(b.pub + '/ticket', { method: 'POST', headers: bearer(token) });
    assert.equal(issue.status, 503, issue.text);
    assert.equal(issue.headers['retry-after'], '1');
  } finally {
    await redis.stop();
  }
});

htest('redis poll: a session alternating between A and B over 24 polls gets every event once, in order', async () => {
  const redis = await startRedis();
  try {
    const nodes = [await startNode(redis, 1), await startNode(redis, 2)];
    const topic = uid('room');
    const first = await poll(nodes[0], { topic: `${topic}/+` });
    assert.equal(first.status, 200, first.text);
    const { connid, secret } = first.json;
    let cursor = first.json.cursor;
    const sent = [];
    const got = [];
    for (let i = 0; i < 24; i++) {
      // Published on both nodes, between and during polls.
      sent.push((await publishOk(nodes[i % 2], `${topic}/${i % 3}`, 'n', { i })).id);
      const r = await poll(nodes[(i + 1) % 2], { connid, secret, since: cursor, timeout: 200 });
      assert.equal(r.status, 200, `poll ${i} → ${r.status} ${r.text}`);
      assert.equal(r.json.connid, connid);
      got.push(...r.json.events.filter((e) => e.e.type === 'n').map((e) => e.id));
      cursor = r.json.cursor;
    }
    // What the last polls have not picked up yet comes on the next ones.
    for (let i = 0; got.length < sent.length && i < 10; i++) {
      const r = await poll(nodes[i % 2], { connid, secret, since: cursor, timeout: 500 });
      assert.equal(r.status, 200, r.text);
      got.push(...r.json.events.filter((e) => e.e.type === 'n').map((e) => e.id));
      cursor = r.json.cursor;
    }
    assert.deepEqual(got, sent);
  } finally {
    await redis.stop();
  }
});

htest('redis poll: after a move, a whisper and a /disconnect reach the session; an expired token is refused', async () => {
  const redis = await startRedis();
  try {
    const [a, b] = [await startNode(redis, 1), await startNode(redis, 2)];
    const topic = uid('w');
    const first = await poll(a, { topic });
    const { connid, secret } = first.json;
    let cursor = first.json.cursor;
    // Moves to B; a whisper published on A reaches the poll held on B.
    const held = poll(b, { connid, secret, since: cursor, timeout: 5000 });
    await waitFor(() => redis.cli('HGET', `herald:ps:${connid}`, 'node') === '2', { what: 'B owns the session' });
    const w = await publish(a, { ep: [{ topic, whisper: connid }], e: { type: 'psst' } });
    assert.equal(w.status, 200, w.text);
    const r = await held;
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.events.map((e) => e.e.type), ['psst']);
    cursor = r.json.cursor;
    // /disconnect on A (which minted the connid) ends it on B.
    const heldAgain = poll(b, { connid, secret, since: cursor, timeout: 5000 });
    await delay(100);  // let B hold it; the kick answers a held poll or the next one alike
    const d = await request(a.priv + '/disconnect', { method: 'POST', headers: { Authorization: 'Bearer ' + a.token },
      body: { connid, reason: 'bye' } });
    assert.equal(d.status, 200, d.text);
    const ended = await heldAgain;
    if (ended.status === 200) {
      assert.ok(ended.json.events.some((e) => e.e.type === 'disconnect' && e.e.detail.reason === 'bye'), ended.text);
    }
    await waitFor(async () => (await poll(b, { connid, secret, since: cursor, timeout: 0 })).status === 410,
      { what: 'the session gone on B' });
    assert.equal((await poll(a, { connid, secret, since: cursor, timeout: 0 })).status, 410);

    // A space session whose token expires: refused on either node after a move.
    const space = uid('sp');
    const token = mint('HS256', SECRET, claims({ spaces: [space] }, 2));
    const s = await request(`${a.pub}/poll?${qs({ space, channel: 'c' })}`, { headers: bearer(token) });
    assert.equal(s.status, 200, s.text);
    const moved = await poll(b, { connid: s.json.connid, secret: s.json.secret, since: s.json.cursor, timeout: 0 });
    assert.equal(moved.status, 200, moved.text);
    const exp = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).exp;
    await delay(Math.max(0, (exp + 1 - nowS()) * 1000));  // the token's expiry is the point
    const late = await poll(a, { connid: s.json.connid, secret: s.json.secret, since: moved.json.cursor, timeout: 0 });
    assert.ok(late.status === 401 || late.status === 410, `${late.status} ${late.text}`);
    const lateB = await poll(b, { connid: s.json.connid, secret: s.json.secret, since: moved.json.cursor, timeout: 0 });
    assert.ok(lateB.status === 401 || lateB.status === 410, `${lateB.status} ${lateB.text}`);
    // A wrong secret adopts nothing.
    const f2 = await poll(a, { topic });
    assert.equal((await poll(b, { connid: f2.json.connid, secret: 'x'.repeat(22), timeout: 0 })).status, 400);
  } finally {
    await redis.stop();
  }
});
