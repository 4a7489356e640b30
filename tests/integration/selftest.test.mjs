// GET /selftest: five timestamped events 400 ms apart, as SSE or es-web frames.
import assert from 'node:assert/strict';
import { htest, startHerald } from './lib/herald.mjs';
import { sseConnect } from './lib/sse_client.mjs';
import http from 'node:http';

function check(events) {
  assert.deepEqual(events.map((e) => e.e.detail.n), [1, 2, 3, 4, 5]);
  for (const e of events) {
    assert.equal(e.e.type, 'selftest');
    assert.deepEqual(e.ep, { requested: '@SELFTEST@', emitted: '@SELFTEST@' });
    assert.equal(e.e.detail.count, 5);
    assert.equal(e.e.detail.interval_ms, 400);
  }
  const gaps = events.slice(1).map((e, i) => e.e.detail.sent_ms - events[i].e.detail.sent_ms);
  for (const g of gaps) assert.ok(g >= 350, `sent ${g} ms apart`);
}

htest('selftest: SSE (Accept or ?transport=sse), unbuffered arrival, then the stream ends', async () => {
  const h = await startHerald();
  for (const [q, headers] of [['', {}], ['transport=sse', { Accept: '*/*' }]]) {
    const arrivals = [];
    const s = sseConnect(h, q, { path: '/selftest', lenient: true, headers });
    const origPush = s.events.push.bind(s.events);
    s.events.push = (e) => { arrivals.push(Date.now()); return origPush(e); };
    await s.ended;
    assert.equal(s.status, 200);
    assert.equal(s.headers['content-type'], 'text/event-stream');
    assert.equal(s.headers['x-accel-buffering'], 'no');
    check(s.events.map((e) => e.json));
    // Arrived spread out, not in one lump at the end (no buffering on loopback).
    assert.ok(arrivals[4] - arrivals[0] >= 1200, `arrivals spread over ${arrivals[4] - arrivals[0]} ms`);
  }
});

htest('selftest: es-web frames by default; a client leaving early is harmless', async () => {
  const h = await startHerald();
  const res = await new Promise((resolve, reject) => {
    http.get(`${h.pub}/selftest`, (r) => {
      let body = '';
      r.on('data', (d) => { body += d; });
      r.on('end', () => resolve({ status: r.statusCode, headers: r.headers, body }));
    }).on('error', reject);
  });
  assert.equal(res.status, 200);
  assert.match(res.headers['content-type'], /^text\/plain/);
  const frames = [];
  let m;
  let rest = res.body;
  while ((m = /^''(\d+)''/.exec(rest))) {
    const n = Number(m[1]);
    frames.push(JSON.parse(rest.slice(m[0].length, m[0].length + n)));
    rest = rest.slice(m[0].length + n);
  }
  assert.equal(rest, '');
  check(frames);
  for (let i = 0; i < 5; i++) {
    const req = http.get(`${h.pub}/selftest`);
    req.on('error', () => {});
    await new Promise((r) => setTimeout(r, 50));
    req.destroy();
  }
  await new Promise((r) => setTimeout(r, 500));
  assert.ok(h.alive());
  assert.equal((await h.state()).connections.total, 0);
});
