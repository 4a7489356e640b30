// herald-client in Node against the real herald binary (and Debian's nginx as
// a buffering proxy): every Node transport, resume after a kick and after a
// restart, de-duplication, keep-alive, token refresh, join/leave, errors and
// bounded backoff. The client is the packed tarball installed here (run.sh).
import assert from 'node:assert/strict';
import net from 'node:net';
import http from 'node:http';
import { HeraldClient } from 'herald-client';
import { NoPollSubscriber } from 'herald-client/compat';
import {
  htest, startHerald, publishOk, uid, waitFor, delay, request, record, startNginx, freePort, restartHerald,
} from './lib.mjs';
import { mint, claims } from '../../tests/integration/lib/jwt.mjs';

const SECRET = 'client-js-test-secret-0123456789abcdef';

async function publishN(h, topic, n, from = 0) {
  const ids = [];
  for (let i = 0; i < n; i++) ids.push((await publishOk(h, topic, 'ev', { n: from + i })).id);
  return ids;
}

const hasAll = (r, ids) => () => ids.every((id) => r.ids.includes(id));

for (const transport of ['stream', 'poll']) {
  htest(`${transport}: delivers id, topic, filter, type, detail; presence; reports the transport; async iterator`, async () => {
    const h = await startHerald();
    const base = `cj/${uid('t')}`;
    const clid = uid('c');
    const c = new HeraldClient(h.pub, { topics: [`${base}/+`, `@CONNECTION@/${clid}`], clid, transports: [transport] });
    const r = record(c);
    await waitFor(() => c.state === 'open', { what: 'open' });
    assert.equal(c.transport, transport);
    assert.deepEqual(r.opens.map((o) => o.transport), [transport]);
    const ids = [];
    ids.push((await publishOk(h, `${base}/a`, 'greeting', { text: "h\u00e9llo 'x'", big: 1796286524043104 })).id);
    ids.push((await publishOk(h, `${base}/b`, 'bare')).id);
    await waitFor(hasAll(r, ids), { what: 'two events' });
    assert.deepEqual(r.messages[0], {
      id: ids[0], topic: `${base}/a`, filter: `${base}/+`, type: 'greeting',
      detail: { text: "h\u00e9llo 'x'", big: 1796286524043104 }, iat: r.messages[0].iat,
    });
    assert.ok(r.messages[0].iat > 1.7e12);
    assert.equal(r.messages[1].type, 'bare');
    assert.ok(r.presence.some((p) => p.clid === clid && p.count >= 1), JSON.stringify(r.presence));

    // The async iterator yields what arrives from then on, and ends on close().
    const got = [];
    const loop = (async () => { for await (const ev of c) { got.push(ev.id); if (got.length === 2) break; } })();
    const more = await publishN(h, `${base}/c`, 2);
    await loop;
    assert.deepEqual(got, more);
    assert.equal(c.state, 'closed');
    assert.deepEqual(r.errors, []);
  });

  htest(`${transport}: resumes after a server kick with no loss and no duplicate`, async () => {
    const h = await startHerald();
    const topic = `cj/${uid('k')}`;
    const clid = uid('c');
    const c = new HeraldClient(h.pub, { topics: [topic], clid, transports: [transport], backoff: { min: 300, max: 1000 } });
    const r = record(c);
    await waitFor(() => c.state === 'open', { what: 'open' });
    const sent = await publishN(h, topic, 3);
    await waitFor(hasAll(r, sent), { what: 'first events' });
    const kick = await request(`${h.priv}/disconnect`, { method: 'POST', headers: { Authorization: `Bearer ${h.token}` }, body: { clid } });
    assert.equal(kick.json.closed, 1);
    sent.push(...await publishN(h, topic, 3, 3)); // while the client is away (or not yet aware)
    await waitFor(() => r.opens.length >= 2, { what: 'reconnect' });
    sent.push(...await publishN(h, topic, 3, 6));
    await waitFor(hasAll(r, sent), { what: 'all events' });
    await delay(200);
    assert.deepEqual(r.ids, sent, 'every event once, in order');
    assert.equal(r.disconnects[0].reason, 'kicked');
    assert.deepEqual(r.resets, []);
    c.close();
  });
}

// A fetch that holds the client's next connection request (POST / for the
// stream, a /poll without connid for polling) until release() is called, so
// a test can publish while the client is certainly between connections. The
// request body, and so its resume cursor, is already fixed when it is held.
function holdReconnect(transport, fetchFn = globalThis.fetch) {
  let release;
  const released = new Promise((r) => { release = r; });
  const gate = { connects: 0, release, fetch: null };
  gate.fetch = async (url, init) => {
    const path = new URL(url).pathname;
    const connect = transport === 'stream' ? path === '/' : path === '/poll' && JSON.parse(init.body).connid == null;
    if (connect && ++gate.connects === 2) await released;
    return fetchFn(url, init);
  };
  return gate;
}

async function kick(h, clid) {
  const res = await request(`${h.priv}/disconnect`, { method: 'POST', headers: { Authorization: `Bearer ${h.token}` }, body: { clid } });
  assert.equal(res.json.closed, 1);
}

for (const transport of ['stream', 'poll']) {
  htest(`${transport}: a client that never got an event resumes from where it subscribed, so what is published during its first disconnect arrives once`, async () => {
    const h = await startHerald();
    const topic = `cj/${uid('q')}`;
    const clid = uid('c');
    const gate = holdReconnect(transport);
    const c = new HeraldClient(h.pub, { topics: [topic], clid, transports: [transport], fetch: gate.fetch, backoff: { min: 50, max: 100 } });
    const r = record(c);
    await waitFor(() => c.state === 'open', { what: 'open' });
    assert.match(c.lastEventId, /^[0-9a-f]{8}-\d+$/, 'the cursor of connected is the resume point');
    await kick(h, clid);
    await waitFor(() => gate.connects === 2, { what: 'the reconnect is under way' });
    const sent = await publishN(h, topic, 2); // while the client has no connection
    gate.release();
    await waitFor(() => r.opens.length === 2, { what: 'reconnect' });
    sent.push(...await publishN(h, topic, 1, 2));
    await waitFor(hasAll(r, sent), { what: 'the events published while away, then a live one' });
    await delay(200);
    assert.deepEqual(r.ids, sent, 'every event once, in order');
    assert.deepEqual(r.resets, []);
    assert.equal(c.lastEventId, sent.at(-1));
    c.close();
  });
}

htest('stream: reconnects across a herald restart and says reset (the memory history is gone)', async () => {
  let h = await startHerald();
  const topic = `cj/${uid('r')}`;
  const c = new HeraldClient(h.pub, { topics: [topic], transports: ['stream'], backoff: { min: 200, max: 800 } });
  const r = record(c);
  await waitFor(() => c.state === 'open', { what: 'open' });
  const before = await publishN(h, topic, 2);
  await waitFor(hasAll(r, before), { what: 'events before restart' });
  assert.equal(await h.stop('SIGTERM'), 0);
  await waitFor(() => r.disconnects.length >= 1, { what: 'disconnect on shutdown' });
  assert.equal(r.disconnects[0].reason, 'shutdown');
  h = await restartHerald(h);
  await waitFor(() => r.opens.length >= 2, { timeout: 10000, what: 'reconnect to the new herald' });
  await waitFor(() => r.resets.length === 1, { what: 'reset' });
  assert.equal(r.resets[0].reason, 'epoch');
  // The old cursor is void: a later reconnect resumes from the new connection.
  assert.notEqual(c.lastEventId.split('-')[0], before[0].split('-')[0], 'the cursor is in the new epoch');
  const after = await publishN(h, topic, 2);
  await waitFor(hasAll(r, after), { what: 'events after restart' });
  assert.deepEqual(r.ids, [...before, ...after]);
  c.close();
});

htest('keep-alive: /alive before each timeout, then Max alive reached hands over to a new connection with no loss or duplicate', async () => {
  const h = await startHerald({ config: { stream: { timeout_ms: 1200, max_alive_count: 2 } } });
  const topic = `cj/${uid('a')}`;
  const c = new HeraldClient(h.pub, { topics: [topic], transports: ['stream'] });
  const r = record(c);
  await waitFor(() => c.state === 'open', { what: 'open' });
  const sent = [];
  // ~2 alives (0.6 s apart) then the hand-over, with events all along.
  const until = Date.now() + 4500;
  for (let i = 0; Date.now() < until; i++) { sent.push((await publishOk(h, topic, 'ev', { i })).id); await delay(40); }
  await waitFor(hasAll(r, sent), { what: 'all events' });
  await delay(200);
  assert.deepEqual(r.ids, sent, 'every event once, in order');
  assert.ok(r.opens.length >= 2, `a new connection after Max alive reached (${r.opens.length} opens)`);
  assert.deepEqual(r.disconnects, [], 'the hand-over is seamless: the old stream never timed out');
  const st = await h.state();
  assert.equal(st.closed.timeout, 0);
  c.close();
});

htest('token: refreshed on auth_expiring through POST /authenticate; unauthorized and a throwing token function stop with a clear error', async () => {
  const h = await startHerald({ config: { auth: { jwt_hs256_secret: SECRET, expiring_notice_s: 30 } } });
  const space = uid('s');
  let calls = 0;
  // 33 s tokens: auth_expiring comes ~3 s after connecting.
  const token = async () => { calls += 1; return mint('HS256', SECRET, claims({ spaces: [space] }, 33)); };
  const c = new HeraldClient(h.pub, { space, channels: ['news'], token, transports: ['stream'] });
  const r = record(c);
  await waitFor(() => c.state === 'open', { what: 'open' });
  const connid = r.opens[0].connid;
  await waitFor(() => calls >= 2, { timeout: 8000, what: 'token refresh' });
  const frames = [];
  c.on('frame', (m) => frames.push(m.e.type));
  await waitFor(() => frames.includes('authorized'), { what: 'authorized after refresh' });
  const ids = await publishN(h, { space, channel: 'news' }, 1);
  await waitFor(hasAll(r, ids), { what: 'event after refresh' });
  assert.equal(r.opens.length, 1);
  assert.equal(r.opens[0].connid, connid);
  c.close();

  const bad = new HeraldClient(h.pub, { space, channels: ['news'], token: mint('HS256', 'x'.repeat(40), claims({ spaces: [space] })), transports: ['stream', 'poll'] });
  const rb = record(bad);
  await waitFor(() => bad.state === 'closed', { what: 'closed on unauthorized' });
  assert.equal(rb.errors.length, 1);
  assert.equal(rb.errors[0].status, 401);
  assert.match(rb.errors[0].message, /unauthorized/);
  assert.deepEqual(rb.opens, []);

  const throws = new HeraldClient(h.pub, { space, channels: ['news'], token: async () => { throw new Error('no session'); }, transports: ['poll'] });
  const rt = record(throws);
  await waitFor(() => throws.state === 'closed', { what: 'closed on token failure' });
  assert.match(rt.errors[0].message, /token function failed: no session/);
});

htest('join/leave: resolved by joined_room / leaved_room, rejected with the server reason; bad subscriptions stop with the reason', async () => {
  const h = await startHerald();
  const base = `cj/${uid('j')}`;
  for (const transport of ['stream', 'poll']) {
    const c = new HeraldClient(h.pub, { topics: [`${base}/home`], transports: [transport] });
    const r = record(c);
    await c.join(`${base}/room`); // before open: sent once connected
    const ids = await publishN(h, `${base}/room`, 1);
    await waitFor(hasAll(r, ids), { what: `${transport}: event in the joined room` });
    await c.leave(`${base}/room`);
    await assert.rejects(c.join(`${base}/#/bad`), /Invalid topic/);
    await assert.rejects(c.leave(`${base}/never`), /Not joined/);
    const later = await publishN(h, [`${base}/room`], 1);
    const home = await publishN(h, `${base}/home`, 1);
    await waitFor(hasAll(r, home), { what: 'home event' });
    assert.ok(!r.ids.includes(later[0]), 'nothing from the room after leave');
    c.close();
  }
  const bad = new HeraldClient(h.pub, { topics: ['a/#/b'], transports: ['stream'] });
  const rb = record(bad);
  await waitFor(() => bad.state === 'closed', { what: 'closed on a bad topic' });
  assert.equal(rb.errors[0].status, 400);
  assert.match(rb.errors[0].message, /Invalid topic/);
});

htest('backoff: a server that drops every connection gets a bounded number of attempts with bounded, jittered delays', async () => {
  let attempts = 0;
  const srv = net.createServer((s) => { attempts += 1; s.destroy(); });
  const port = await freePort();
  await new Promise((res) => srv.listen(port, '127.0.0.1', res));
  try {
    const c = new HeraldClient(`http://127.0.0.1:${port}`, { topics: ['x'], transports: ['stream', 'poll'], backoff: { min: 100, max: 400 } });
    const r = record(c);
    await delay(3000);
    c.close();
    // Without backoff this would be thousands; full jitter under a 400 ms cap
    // averages ~200 ms.
    assert.ok(attempts >= 3 && attempts <= 40, `attempts in 3 s: ${attempts}`);
    assert.ok(r.disconnects.every((d) => d.retryIn <= 400), JSON.stringify(r.disconnects.map((d) => d.retryIn)));
    assert.ok(new Set(r.disconnects.map((d) => d.retryIn)).size > 1, 'jittered');
    assert.equal(c.state, 'closed');
  } finally {
    srv.close();
  }
});

htest('fallback: behind a buffering nginx, /selftest sends the client to long polling; a stream whose body never starts falls back too', async () => {
  const h = await startHerald();
  const proxy = await startNginx(h.pubPort);
  const topic = `cj/${uid('f')}`;
  // remember: false, so a transport remembered for a reused port in this
  // process cannot skip the probe.
  const c = new HeraldClient(proxy.url, { topics: [topic], transports: ['stream', 'poll'], selftest: true, remember: false });
  const r = record(c);
  await waitFor(() => c.state === 'open', { timeout: 10000, what: 'open' });
  assert.equal(c.transport, 'poll');
  const ids = await publishN(h, topic, 2);
  await waitFor(hasAll(r, ids), { what: 'events over polling' });
  c.close();

  // No selftest, and a proxy that sends the stream's headers but holds its
  // body back: the first frame never comes within openTimeout.
  const holder = http.createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/') { res.writeHead(200, { 'Content-Type': 'text/plain' }); res.flushHeaders(); return; }
    const up = http.request({ host: '127.0.0.1', port: h.pubPort, path: req.url, method: req.method, headers: req.headers },
      (r) => { res.writeHead(r.statusCode, r.headers); r.pipe(res); });
    up.on('error', () => res.destroy()); // the client gave up on a held poll
    req.pipe(up);
  });
  await new Promise((res) => holder.listen(0, '127.0.0.1', res));
  try {
    const c2 = new HeraldClient(`http://127.0.0.1:${holder.address().port}`, { topics: [topic], transports: ['stream', 'poll'], openTimeout: 1500, remember: false });
    const r2 = record(c2);
    await waitFor(() => c2.state === 'open', { timeout: 10000, what: 'open after fallback' });
    assert.equal(c2.transport, 'poll');
    assert.equal(r2.disconnects[0].reason, 'buffered');
    const ids2 = await publishN(h, topic, 1);
    await waitFor(hasAll(r2, ids2), { what: 'event' });
    c2.close();
  } finally {
    holder.closeAllConnections();
    holder.close();
  }

  // Unbuffered, the selftest keeps the stream.
  const c3 = new HeraldClient(h.pub, { topics: [topic], transports: ['stream', 'poll'], selftest: true, remember: false });
  await waitFor(() => c3.state === 'open', { timeout: 10000, what: 'open' });
  assert.equal(c3.transport, 'stream');
  c3.close();
});

htest('fallback: a transport that fails twice before opening gives way to the next, with bounded retries', async () => {
  const h = await startHerald();
  const proxy = await startNginx(h.pubPort, { buffering: false, failStream: true });
  const topic = `cj/${uid('x')}`;
  const c = new HeraldClient(proxy.url, { topics: [topic], transports: ['stream', 'poll'], backoff: { min: 100, max: 400 }, remember: false });
  const r = record(c);
  await waitFor(() => c.state === 'open', { timeout: 10000, what: 'open' });
  assert.equal(c.transport, 'poll');
  assert.equal(r.disconnects.length, 2, JSON.stringify(r.disconnects));
  assert.match(r.disconnects[0].reason, /502/);
  const ids = await publishN(h, topic, 2);
  await waitFor(hasAll(r, ids), { what: 'events over polling' });
  c.close();
});

htest('compat: NoPollSubscriber gets the raw frames (connected first), connection and state callbacks', async () => {
  const h = await startHerald();
  const topic = `cj/${uid('n')}`;
  const frames = [];
  const states = [];
  let connected = 0;
  const sub = new NoPollSubscriber({ url: `${h.pub}/`, method: 'POST', data: { clid: 'nps', ep: [topic, { topic: `${topic}/x` }] } },
    (json) => frames.push(JSON.parse(json)), () => { connected += 1; }, (s) => states.push(s.value));
  sub.start();
  await waitFor(() => connected === 1, { what: 'connected' });
  assert.equal(frames[0].ep.emitted, '@SERVER@');
  assert.equal(frames[0].e.type, 'connected');
  const ids = await publishN(h, `${topic}/x`, 2);
  await waitFor(() => frames.length >= 3, { what: 'frames' });
  assert.deepEqual(frames.slice(1).map((f) => f.id), ids);
  assert.deepEqual(states.slice(0, 2), [1, 2]);
  sub.stop();
  assert.equal(states.at(-1), 0);
});

htest('compat: abort() before any event resumes from the connected cursor; nothing published meanwhile is lost', async () => {
  const h = await startHerald();
  const topic = `cj/${uid('na')}`;
  const frames = [];
  let connected = 0;
  const sub = new NoPollSubscriber({ url: `${h.pub}/`, data: { clid: uid('nps'), ep: [topic] } },
    (json) => frames.push(JSON.parse(json)), () => { connected += 1; });
  sub.start();
  await waitFor(() => connected === 1, { what: 'connected' });
  const cursor = frames[0].e.detail.cursor;
  assert.match(cursor, /^[0-9a-f]{8}-\d+$/);
  // The subscriber's new client fetches through globalThis.fetch; hold its
  // connection until the test has published.
  const realFetch = globalThis.fetch;
  const gate = holdReconnect('stream', realFetch);
  gate.connects = 1;
  globalThis.fetch = gate.fetch;
  let sent;
  try {
    sub.abort();
    await waitFor(() => gate.connects === 2, { what: 'the reconnect is under way' });
    sent = await publishN(h, topic, 2);
    gate.release();
    await waitFor(() => connected === 2, { what: 'reconnected' });
  } finally {
    globalThis.fetch = realFetch;
  }
  sent.push(...await publishN(h, topic, 1, 2));
  await waitFor(() => frames.filter((f) => f.id).length >= 3, { what: 'frames' });
  await delay(200);
  assert.deepEqual(frames.filter((f) => f.id).map((f) => f.id), sent, 'every event once, in order');
  assert.ok(!frames.some((f) => f.e.type === 'reset'));
  sub.stop();
});
