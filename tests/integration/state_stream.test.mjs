// GET /state/stream (a /state snapshot a second as server-sent events, on the
// private port), GET /dashboard (the page that reads it) and
// herald_rejected_total{cause} / /state "rejections": issue 14 item 1.
import assert from 'node:assert/strict';
import http from 'node:http';
import { htest, startHerald, publish, publishOk, request, waitFor, uid } from './lib/herald.mjs';
import { createSseParser } from './lib/sse_client.mjs';

const auth = { Authorization: 'Bearer test-token' };

// Opens /state/stream; `snapshots` fills with the parsed documents.
function openStream(h, headers = auth) {
  const s = { snapshots: [], comments: 0, status: null, closed: false };
  s.response = new Promise((resolve, reject) => {
    const u = new URL(h.priv + '/state/stream');
    s.req = http.get({ host: u.hostname, port: u.port, path: u.pathname, headers, agent: false }, (res) => {
      s.status = res.statusCode;
      s.headers = res.headers;
      const parser = createSseParser({
        onEvent: (e) => s.snapshots.push(JSON.parse(e.data)),
        onComment: () => { s.comments += 1; },
      });
      res.setEncoding('utf8');
      res.on('data', (t) => { if (res.statusCode === 200) parser.feed(t); else s.body = (s.body || '') + t; });
      res.on('close', () => { s.closed = true; });
      resolve(res);
    });
    s.req.on('error', (e) => { s.closed = true; if (s.status === null) reject(e); });
  });
  s.close = () => s.req.destroy();
  return s;
}

htest('state/stream: 401 without the token, like /state', async () => {
  const h = await startHerald();
  for (const headers of [{}, { Authorization: 'Bearer wrong' }]) {
    const s = openStream(h, headers);
    await s.response;
    await waitFor(() => s.closed, { what: 'refusal ends' });
    assert.equal(s.status, 401);
    assert.equal(s.snapshots.length, 0);
  }
  const r = await request(h.priv + '/state/stream', { method: 'POST', headers: auth, body: {} });
  assert.equal(r.status, 405);
});

htest('state/stream: one /state document per snapshot, and the counters move', async () => {
  const h = await startHerald();
  const s = openStream(h);
  try {
    await s.response;
    assert.equal(s.status, 200);
    assert.match(s.headers['content-type'], /^text\/event-stream/);
    await waitFor(() => s.snapshots.length >= 1, { what: 'first snapshot' });
    const first = s.snapshots[0];
    // The same document as GET /state: every member it has.
    const state = (await request(h.priv + '/state', { headers: auth })).json;
    assert.deepEqual(Object.keys(first), Object.keys(state));
    for (const k of ['time_ms', 'latency', 'memory', 'rejections', 'top_topics', 'state_streams']) {
      assert.ok(k in first, `/state has ${k}`);
    }
    assert.equal(first.state_streams.open, 1);
    assert.equal(first.latency.counts.length, first.latency.bounds_s.length + 1);
    for (const k of ['rss_bytes', 'heap_bytes', 'history_bytes', 'queue_bytes']) {
      assert.ok(Number.isInteger(first.memory[k]) && first.memory[k] >= 0, `memory.${k}`);
    }
    const topic = `stream/${uid('t')}`;
    for (let i = 0; i < 3; i++) await publishOk(h, topic, 'tick', { i });
    const seen = await waitFor(() => s.snapshots.find((x) => x.events.published >= first.events.published + 3),
      { timeout: 10000, what: 'a snapshot counting the 3 events' });
    assert.equal(seen.top_topics.by_events[0].topic, topic);
    assert.ok(seen.top_topics.by_events[0].per_s > 0);
    // Snapshots keep coming (counted, not timed): 3 more, each later than the last.
    const n = s.snapshots.length;
    await waitFor(() => s.snapshots.length >= n + 3, { timeout: 10000, what: '3 more snapshots' });
    for (let i = 1; i < s.snapshots.length; i++) {
      assert.ok(s.snapshots[i].time_ms > s.snapshots[i - 1].time_ms, 'snapshot times increase');
    }
  } finally {
    s.close();
  }
});

htest('state/stream: top topics by subscribers count the filters of open connections', async () => {
  const h = await startHerald();
  const topic = `subs/${uid('t')}`;
  const subs = [];
  const { sseOpen } = await import('./lib/sse_client.mjs');
  for (let i = 0; i < 3; i++) subs.push(await sseOpen(h, { topic }));
  subs.push(await sseOpen(h, { topic: `${topic}/other` }));
  const s = openStream(h);
  try {
    const snap = await waitFor(() => s.snapshots.find((x) => x.connections.total === 4),
      { timeout: 10000, what: 'a snapshot with 4 connections' });
    assert.deepEqual(snap.top_topics.by_subscribers.slice(0, 2),
      [{ filter: topic, subscribers: 3 }, { filter: `${topic}/other`, subscribers: 1 }]);
  } finally {
    s.close();
    for (const x of subs) x.close();
  }
});

htest('state/stream: at most 16 readers (503 past that); a reader leaving frees its slot', async () => {
  const h = await startHerald();
  const streams = [];
  try {
    for (let i = 0; i < 16; i++) streams.push(openStream(h));
    for (const s of streams) await waitFor(() => s.snapshots.length >= 1, { timeout: 10000, what: 'every reader served' });
    const extra = openStream(h);
    await extra.response;
    await waitFor(() => extra.closed, { what: 'the 17th refused' });
    assert.equal(extra.status, 503);
    assert.match(extra.body, /at most 16/);
    const st = (await request(h.priv + '/state', { headers: auth })).json;
    assert.equal(st.state_streams.open, 16);
    assert.equal(st.rejections.unavailable, 1);
    // A client leaving is seen at the next snapshot (its write fails).
    streams.shift().close();
    await waitFor(async () => (await request(h.priv + '/state', { headers: auth })).json.state_streams.open === 15,
      { timeout: 10000, what: 'the slot freed' });
    const again = openStream(h);
    streams.push(again);
    await again.response;
    assert.equal(again.status, 200);
    await waitFor(() => again.snapshots.length >= 1, { timeout: 10000, what: 'the new reader served' });
  } finally {
    for (const s of streams) s.close();
  }
});

htest('dashboard: the page is served without a token and holds none', async () => {
  const h = await startHerald();
  const r = await request(h.priv + '/dashboard');
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type'], /^text\/html/);
  assert.match(r.text, /heraldDashboard/);
  assert.match(r.text, /state\/stream/);
  assert.doesNotMatch(r.text, /test-token/);
  assert.match(r.headers['content-security-policy'], /connect-src 'self'/);
  // The data stays behind the token.
  assert.equal((await request(h.priv + '/state')).status, 401);
});

// Every refusal counts under a cause, on both listeners, in /state and /metrics.
htest('rejections: refusals are counted by cause (issue 14)', async () => {
  const h = await startHerald({ config: { limits: { max_body_bytes: 1000, max_connections: 1 } } });
  const { sseOpen, sseConnect } = await import('./lib/sse_client.mjs');
  assert.equal((await request(h.priv + '/state')).status, 401);                     // unauthorized
  assert.equal((await request(h.priv + '/nope', { headers: auth })).status, 404);  // not_found
  assert.equal((await request(h.pub + '/nope')).status, 404);                      // not_found
  assert.equal((await publish(h, { ep: 'x', e: { type: 't' } })).status, 400);     // bad_request
  assert.equal((await publish(h, { ep: ['x'], e: { type: 't', detail: 'y'.repeat(2000) } })).status, 413); // too_large
  const held = await sseOpen(h, { topic: 'a' });
  const refused = sseConnect(h, { topic: 'a' });                                   // limit_connections
  await refused.response;
  assert.equal(refused.status, 503);
  refused.close();
  held.close();
  const st = (await request(h.priv + '/state', { headers: auth })).json;
  assert.equal(st.rejections.unauthorized, 1);
  assert.equal(st.rejections.not_found, 2);
  assert.equal(st.rejections.bad_request, 1);
  assert.equal(st.rejections.too_large, 1);
  assert.equal(st.rejections.limit_connections, 1);
  assert.equal(st.rejections.unavailable, 0, 'a limit is not counted twice');
  const metrics = (await request(h.priv + '/metrics', { headers: auth })).text;
  for (const [cause, n] of Object.entries(st.rejections)) {
    assert.match(metrics, new RegExp(`^herald_rejected_total\\{cause="${cause}"\\} ${n}$`, 'm'));
  }
});

// MHD must not stop with a suspended connection: the readers' streams end and
// the process exits 0 (under ASan: with no leak or use after free).
htest('state/stream: SIGTERM with readers open ends their streams and exits 0', async () => {
  const h = await startHerald();
  const streams = [openStream(h), openStream(h), openStream(h)];
  for (const s of streams) await waitFor(() => s.snapshots.length >= 1, { timeout: 10000, what: 'reader served' });
  const exit = await Promise.race([h.stop('SIGTERM'),
    new Promise((r) => setTimeout(() => r('still running after 10 s'), 10000))]);
  assert.equal(exit, 0, h.stderr);
  assert.doesNotMatch(h.stderr, /AddressSanitizer|runtime error/);
  for (const s of streams) await waitFor(() => s.closed, { what: 'stream ended' });
});
