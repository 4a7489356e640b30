// Long polling: sessions, held polls, timeouts, batching, cursors and reset,
// errors, replacement, client disconnects, session expiry, cross-worker polls.
import assert from 'node:assert/strict';
import http from 'node:http';
import { htest, startHerald, publishOk, publish, request, assertError, uid, ID_RE, SECRET_RE, waitFor } from './lib/herald.mjs';
import { poll, pollStart, pollLoop } from './lib/poll_client.mjs';
import { bystander } from './lib/esweb_client.mjs';

htest('poll: the first poll starts a session and answers at once; a held poll is answered promptly after a publish', async () => {
  const h = await startHerald();
  const topic = `p/${uid('t')}`;
  const before = await publishOk(h, topic, 'before');
  const first = await pollStart(h, { topic, clid: 'poller' });
  assert.deepEqual(Object.keys(first).sort(), ['connid', 'cursor', 'events', 'secret']);
  assert.match(first.secret, SECRET_RE);
  assert.deepEqual(first.events, []);
  assert.equal(first.cursor, before.id, 'cursor: the newest id');
  assert.equal((await h.connections('clid=poller')).poller, 1);
  assert.equal((await h.state()).connections.by_transport.poll, 1);

  const t0 = Date.now();
  const held = poll(h, { connid: first.connid, secret: first.secret, since: first.cursor, timeout: 20000 });
  await delayUntilHeld(h);
  const pub = await publishOk(h, topic, 'news', { n: 1 });
  const r = await held;
  const took = Date.now() - t0;
  assert.equal(r.status, 200, r.text);
  assert.ok(took < 5000, `answered in ${took} ms, well before its 20 s timeout`);
  assert.equal(r.json.events.length, 1);
  assert.deepEqual(r.json.events[0], {
    id: pub.id, iat: r.json.events[0].iat, ep: { requested: topic, emitted: topic }, e: { type: 'news', detail: { n: 1 } },
  });
  assert.equal(r.json.cursor, pub.id);
  assert.equal(r.json.connid, first.connid);
});

// A poll is held once the server has it: there is no signal for that, so wait
// for the request to be in flight a moment; correctness does not depend on it
// (an event published before the poll arrives is answered at once from history).
async function delayUntilHeld() { await new Promise((r) => setTimeout(r, 100)); }

htest('poll: nothing arrives → empty answer after `timeout`, same cursor; default and capped timeouts', async () => {
  const h = await startHerald({ config: { poll: { timeout_ms: 400, max_timeout_ms: 700 } } });
  const s = await pollStart(h, { topic: `p/${uid('t')}` });
  let t0 = Date.now();
  let r = await poll(h, { connid: s.connid, secret: s.secret, since: s.cursor, timeout: 300 });
  assert.deepEqual(r.json.events, []);
  assert.equal(r.json.cursor, s.cursor);
  assert.ok(Date.now() - t0 >= 250 && Date.now() - t0 < 5000);
  t0 = Date.now();
  r = await poll(h, { connid: s.connid, secret: s.secret, since: s.cursor });
  assert.ok(Date.now() - t0 >= 350, 'default poll.timeout_ms');
  t0 = Date.now();
  r = await poll(h, { connid: s.connid, secret: s.secret, since: s.cursor, timeout: 60000 });
  assert.ok(Date.now() - t0 < 5000, 'capped by poll.max_timeout_ms');
  assert.deepEqual(r.json.events, []);
});

htest('poll: retained events after `since` come at once, batched by poll.max_batch; the cursor walks them all', async () => {
  const h = await startHerald({ config: { poll: { max_batch: 7 } } });
  const topic = `p/${uid('t')}`;
  const s = await pollStart(h, { topic });
  const want = [];
  for (let i = 0; i < 20; i++) {
    want.push((await publishOk(h, topic, `e${i}`)).id);
    await publishOk(h, `${topic}/not-mine`, 'noise');
  }
  const r1 = await poll(h, { connid: s.connid, secret: s.secret, since: s.cursor, timeout: 0 });
  assert.equal(r1.json.events.length, 7);
  const { events } = await pollLoop(h, s, { cursor: s.cursor, done: (ev) => ev.length >= 20 });
  assert.deepEqual(events.map((e) => e.id), want);
  // A first poll with `since` answers with history right away.
  const s2 = await pollStart(h, { topic, since: want[16] });
  assert.deepEqual(s2.events.map((e) => e.id), want.slice(17));
});

htest('poll: POST /poll with a JSON body works like GET', async () => {
  const h = await startHerald();
  const topic = `p/${uid('t')}`;
  const s = await pollStart(h, { topic: [topic, `${topic}/+`], clid: 'post-poller' }, { method: 'POST' });
  const a = await publishOk(h, `${topic}/x`, 'a');
  const r = await poll(h, { connid: s.connid, secret: s.secret, since: s.cursor, timeout: 5000 }, { method: 'POST' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.events.map((e) => [e.id, e.ep.requested]), [[a.id, `${topic}/+`]]);
});

htest('poll: errors — unknown session 410, wrong secret 400 Invalid data, bad shapes 400; reset on a bad or trimmed since', async () => {
  const h = await startHerald({ config: { history: { max_events: 3 } } });
  const topic = `p/${uid('t')}`;
  const s = await pollStart(h, { topic });
  assertError(await poll(h, { connid: s.connid + 1000000, secret: s.secret }), 410, 'Unknown or expired session');
  assertError(await poll(h, { connid: s.connid, secret: 'A'.repeat(22) }), 400, 'Invalid data');
  assertError(await poll(h, { connid: 'abc', secret: s.secret }), 400, 'Invalid data');
  assertError(await poll(h, { connid: s.connid, secret: s.secret, timeout: '-1' }), 400, 'Invalid timeout');
  assertError(await poll(h, {}), 400, 'Topic missing');
  assertError(await request(h.pub + '/poll', { method: 'POST', body: '[1]' }), 400, 'Invalid JSON in body');
  assertError(await request(h.pub + '/poll', { method: 'PUT', body: '{}' }), 400, 'Method is not GET or POST');

  const bogus = await poll(h, { connid: s.connid, secret: s.secret, since: 'garbage', timeout: 0 });
  assert.equal(bogus.status, 200);
  assert.equal(bogus.json.events[0].e.type, 'reset');
  assert.equal(bogus.json.events[0].e.detail.reason, 'malformed');

  const old = await publishOk(h, topic, 'old');
  const ids = [];
  for (let i = 0; i < 5; i++) ids.push((await publishOk(h, topic, `n${i}`)).id);
  const r = await poll(h, { connid: s.connid, secret: s.secret, since: old.id, timeout: 0 });
  assert.deepEqual(r.json.events[0].e, { type: 'reset', detail: { reason: 'trimmed', oldest: ids[2] } });
  assert.equal(r.json.cursor, ids[4], 'after a reset, the session goes on from now');
});

htest('poll: a second poll replaces the held one (answered empty); a held poll whose client leaves is dropped cleanly', async () => {
  const h = await startHerald();
  const by = await bystander(h);
  const topic = `p/${uid('t')}`;
  const s = await pollStart(h, { topic });
  const p1 = poll(h, { connid: s.connid, secret: s.secret, since: s.cursor, timeout: 20000 });
  await delayUntilHeld();
  const t0 = Date.now();
  const p2 = poll(h, { connid: s.connid, secret: s.secret, since: s.cursor, timeout: 20000 });
  const r1 = await p1;
  assert.ok(Date.now() - t0 < 5000);
  assert.deepEqual(r1.json.events, []);
  const a = await publishOk(h, topic, 'a');
  assert.deepEqual((await p2).json.events.map((e) => e.id), [a.id]);

  // Client gone while held: several times, then the session still works.
  for (let i = 0; i < 5; i++) {
    const req = http.get(`${h.pub}/poll?connid=${s.connid}&secret=${s.secret}&since=${a.id}&timeout=20000`);
    req.on('error', () => {});
    await delayUntilHeld();
    req.destroy();
  }
  const b = await publishOk(h, topic, 'b');
  const r = await poll(h, { connid: s.connid, secret: s.secret, since: a.id, timeout: 5000 });
  assert.deepEqual(r.json.events.map((e) => e.id), [b.id]);
  await by.check('abandoned polls');
  assert.ok(h.alive());
});

htest('poll: a session expires poll.session_ttl_ms after its last poll: presence disconnect, then 410', async () => {
  const h = await startHerald({ config: { poll: { session_ttl_ms: 500 } } });
  const s = await pollStart(h, { topic: 'ttl', clid: 'ttl-poller' });
  // A held poll longer than the TTL keeps the session.
  const r = await poll(h, { connid: s.connid, secret: s.secret, since: s.cursor, timeout: 1200 });
  assert.equal(r.status, 200);
  assert.equal((await h.connections('clid=ttl-poller'))['ttl-poller'], 1);
  await waitFor(async () => (await h.connections('clid=ttl-poller'))['ttl-poller'] === 0, { timeout: 5000, what: 'session expiry' });
  assertError(await poll(h, { connid: s.connid, secret: s.secret }), 410, 'Unknown or expired session');
  assert.equal((await h.state()).closed.timeout, 1);
});

htest('poll: polls land on any worker (new TCP connection each) and reach the owning session', async () => {
  const h = await startHerald({ workers: 4 });
  const topic = `p/${uid('t')}`;
  const s = await pollStart(h, { topic });
  let cursor = s.cursor;
  const want = [];
  for (let i = 0; i < 20; i++) {
    want.push((await publishOk(h, topic, `e${i}`)).id);
    const r = await poll(h, { connid: s.connid, secret: s.secret, since: cursor, timeout: 5000 });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.events.map((e) => e.id), [want[i]]);
    cursor = r.json.cursor;
  }
  const st = await h.state();
  assert.equal(st.connections.by_transport.poll, 1);
});

htest('poll: whispers reach a poll session (not history), in the next answer', async () => {
  const h = await startHerald();
  const topic = `p/${uid('t')}`;
  const s = await pollStart(h, { topic });
  const held = poll(h, { connid: s.connid, secret: s.secret, since: s.cursor, timeout: 10000 });
  await delayUntilHeld();
  const w = await publish(h, { ep: [{ topic, whisper: s.connid }], e: { type: 'secret', detail: 1 } });
  assert.equal(w.status, 200, w.text);
  const r = await held;
  assert.deepEqual(r.json.events.map((e) => e.e.type), ['secret']);
  assert.match(r.json.events[0].id, ID_RE);
});
