// Resume with one cursor: Last-Event-ID / lastEventId on /sse, last_event_id
// on POST /: replay then live with exact ids, on wildcard filters, while
// publishes race the replay; reset on trimmed history, a bogus cursor and
// another epoch.
import assert from 'node:assert/strict';
import { htest, startHerald, publishOk, uid, waitFor } from './lib/herald.mjs';
import { sseOpen, waitMessages } from './lib/sse_client.mjs';
import { connect } from './lib/esweb_client.mjs';

const types = (s) => s.messages().map((e) => e.json.e.type);
const ids = (s) => s.messages().map((e) => e.id);

htest('resume: kicked by the server timeout, the SSE client resumes from Last-Event-ID: replay then live, exact ids', async () => {
  const h = await startHerald({ config: { sse: { timeout_ms: 600 } } });
  const topic = `r/${uid('t')}`;
  const other = `r/${uid('o')}`;
  const s1 = await sseOpen(h, { topic });
  const sent = [];
  for (let i = 0; i < 3; i++) sent.push((await publishOk(h, topic, `a${i}`)).id);
  await waitMessages(s1, 3);
  assert.deepEqual(ids(s1), sent);
  const d = await s1.next({ event: 'disconnect' }, 5000);
  assert.equal(d.json.e.detail.reason, 'timeout');
  // Missed while away: some on our topic, some not.
  for (let i = 0; i < 5; i++) {
    sent.push((await publishOk(h, topic, `b${i}`)).id);
    await publishOk(h, other, `x${i}`);
  }
  const s2 = await sseOpen(h, { topic }, { lastEventId: s1.lastEventId() });
  sent.push((await publishOk(h, topic, 'live')).id);
  await waitMessages(s2, 6);
  assert.deepEqual(types(s2), ['b0', 'b1', 'b2', 'b3', 'b4', 'live']);
  assert.deepEqual([...ids(s1), ...ids(s2)], sent);
  assert.equal(s2.named('reset').length, 0);
  assert.ok((await h.state()).events.replayed >= 5);
});

htest('resume: lastEventId query parameter, on a wildcard filter, names the matching filter like live delivery', async () => {
  const h = await startHerald();
  const base = uid('w');
  const first = await publishOk(h, `${base}/a/x`, 'before');
  const want = [];
  for (const t of [`${base}/a/x`, `${base}/b/x`, `${base}/c/y`, `${base}/d/x/deep`, `${base}/e/x`]) {
    const r = await publishOk(h, t, `on ${t}`);
    if (/\/x$/.test(t)) want.push(r.id);
  }
  const s = await sseOpen(h, `topic=${base}/%2B/x&topic=${base}/a/x&lastEventId=${first.id}`);
  await waitMessages(s, want.length);
  assert.deepEqual(ids(s), want);
  assert.deepEqual(s.messages().map((e) => e.json.ep.requested),
    [`${base}/a/x`, `${base}/+/x`, `${base}/+/x`]);
  // Then live, and the header would win over the query (not sent here).
  const live = await publishOk(h, `${base}/z/x`, 'live');
  assert.equal((await s.next('live')).id, live.id);
});

htest('resume: publishes racing a 3000-event replay: no gap, no duplicate, strictly increasing ids', async () => {
  const h = await startHerald({ workers: 2 });
  const topic = `race/${uid('t')}`;
  const start = await publishOk(h, topic, 'start');
  const batch = async (n, tag) => {
    for (let i = 0; i < n; i += 50) {
      const ep = Array.from({ length: Math.min(50, n - i) }, () => topic);
      await publishOk(h, ep, tag);
    }
  };
  await batch(3000, 'old');
  const s = await sseOpen(h, { topic }, { lastEventId: start.id });
  // More publishes while the replay runs.
  await batch(1000, 'new');
  await waitMessages(s, 4000, 30000);
  const got = ids(s).map((id) => Number(id.split('-')[1]));
  assert.equal(got.length, 4000);
  for (let i = 1; i < got.length; i++) assert.ok(got[i] > got[i - 1], `ids increase at ${i}: ${got[i - 1]} → ${got[i]}`);
  assert.equal(got[0], Number(start.id.split('-')[1]) + 1);
  assert.equal(new Set(got).size, 4000);
  assert.deepEqual([...new Set(types(s))], ['old', 'new']);
});

htest('resume: reset when history was trimmed (history.max_events), with the oldest retained id; then live', async () => {
  const h = await startHerald({ config: { history: { max_events: 5 } } });
  const topic = `tr/${uid('t')}`;
  const first = await publishOk(h, topic, 'e0');
  const all = [first.id];
  for (let i = 1; i < 10; i++) all.push((await publishOk(h, topic, `e${i}`)).id);
  const st = await h.state();
  assert.equal(st.history.count, 5);
  assert.equal(st.history.oldest, all[5]);
  const s = await sseOpen(h, { topic }, { lastEventId: first.id });
  const r = await s.next({ event: 'reset' });
  assert.deepEqual(r.json.e.detail, { reason: 'trimmed', oldest: all[5] });
  assert.deepEqual(r.json.ep, { requested: '@SERVER@', emitted: '@SERVER@' });
  const live = await publishOk(h, topic, 'live');
  assert.equal((await s.next('live')).id, live.id);
  assert.deepEqual(types(s), ['live'], 'a reset goes live: nothing replayed');
  // A cursor still covered resumes normally.
  const s2 = await sseOpen(h, { topic }, { lastEventId: all[7] });
  await waitMessages(s2, 3);
  assert.deepEqual(ids(s2), [all[8], all[9], live.id]);
});

htest('resume: reset on a malformed cursor, a cursor from another epoch, and a cursor past the newest event', async () => {
  const h = await startHerald();
  const topic = `bo/${uid('t')}`;
  const p = await publishOk(h, topic, 'x');
  const epoch = p.id.split('-')[0];
  const other = (epoch === '00000001' ? '00000002' : '00000001');
  const cases = [
    ['bogus', 'malformed'], ['12345', 'malformed'], [`${epoch}-`, 'malformed'], [`${epoch}-1x`, 'malformed'],
    [`${other}-1`, 'epoch'], [`${epoch}-999999`, 'malformed'],
  ];
  for (const [cursor, reason] of cases) {
    const s = await sseOpen(h, { topic }, { lastEventId: cursor });
    const r = await s.next({ event: 'reset' });
    assert.deepEqual(r.json.e.detail, { reason, oldest: p.id }, cursor);
    s.close();
  }
});

htest('resume: a restarted node has a new epoch, so an old cursor gets reset epoch', async () => {
  const h1 = await startHerald();
  const p = await publishOk(h1, 'ep/t', 'x');
  await h1.stop();
  const h2 = await startHerald();
  const s = await sseOpen(h2, { topic: 'ep/t' }, { lastEventId: p.id });
  const r = await s.next({ event: 'reset' });
  assert.deepEqual(r.json.e.detail, { reason: 'epoch', oldest: null });
});

htest('resume: the es-web stream resumes from last_event_id in the POST / body', async () => {
  const h = await startHerald();
  const topic = `es/${uid('t')}`;
  const a = await publishOk(h, topic, 'a');
  const b = await publishOk(h, topic, 'b');
  const c = await publishOk(h, topic, 'c');
  const s = await connect(h, { ep: [topic], last_event_id: a.id });
  assert.equal((await s.next('b')).id, b.id);
  assert.equal((await s.next('c')).id, c.id);
  const d = await publishOk(h, topic, 'd');
  assert.equal((await s.next('d')).id, d.id);
  const bad = await connect(h, { ep: [topic], last_event_id: 'nope' });
  const r = await bad.next('reset');
  assert.equal(r.e.detail.reason, 'malformed');
});

htest('resume: a paused resumer of 10,000 big events neither stalls its worker nor gets closed as slow', async () => {
  const h = await startHerald({ workers: 1 });
  const topic = `big/${uid('t')}`;
  const start = await publishOk(h, topic, 'start');
  const detail = { pad: 'x'.repeat(2000) };
  for (let i = 0; i < 10000; i += 50) {
    await publishOk(h, Array.from({ length: 50 }, () => topic), 'old', detail);
  }
  const resumer = await sseOpen(h, { topic }, { lastEventId: start.id });
  resumer.res.pause();  // reads nothing: ~20 MB of replay must wait, not pile up
  const bt = `by/${uid('b')}`;
  const by = await sseOpen(h, { topic: bt });
  for (let i = 0; i < 5; i++) {
    await publishOk(h, bt, `ping${i}`);
    await by.next(`ping${i}`, 5000);
  }
  const st = await h.state();
  assert.equal(st.closed.slow, 0, 'the resumer was not closed as slow');
  resumer.res.resume();
  await waitMessages(resumer, 10000, 60000);
  const got = ids(resumer).map((id) => Number(id.split('-')[1]));
  assert.equal(got[0], Number(start.id.split('-')[1]) + 1);
  for (let i = 1; i < got.length; i++) assert.equal(got[i], got[i - 1] + 1);
  assert.equal(resumer.named('disconnect').length, 0);
}, { timeout: 120000 });
