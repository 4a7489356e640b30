// issue 9 B.11: presence cannot flush history. @CONNECTION@ connect and
// disconnect events go to their watchers live (stream, SSE and poll alike)
// but are not history: thousands of anonymous poll sessions coming and going
// leave application events replayable, and a resume never replays presence.
import assert from 'node:assert/strict';
import { htest, startHerald, publishOk, uid } from './lib/herald.mjs';
import { sseConnect, sseOpen, waitMessages } from './lib/sse_client.mjs';
import { connect } from './lib/esweb_client.mjs';
import { poll, pollStart } from './lib/poll_client.mjs';

const CHURN = 2000;      // anonymous poll sessions, each a connect then a disconnect
const MAX_EVENTS = 100;  // history.max_events, far below what the churn writes

htest('presence churn: application events stay replayable (no reset) after thousands of presence changes', async () => {
  const h = await startHerald({
    workers: 2,
    config: { history: { max_events: MAX_EVENTS }, poll: { session_ttl_ms: 1000 } },
  });
  const clid = uid('z');
  const topic = uid('app');
  // Watchers make presence events exist at all (none are made for nobody).
  const sseWatch = await sseOpen(h, { topic: `@CONNECTION@/${clid}` });
  const pollWatch = await pollStart(h, { topic: `@CONNECTION@/${clid}`, timeout: 0 });

  const marker = await publishOk(h, topic, 'marker');
  const kept = await publishOk(h, topic, 'kept', { n: 1 });

  const watched = [];
  let cursor = pollWatch.cursor;
  for (let i = 0; i < CHURN; i += 25) {
    await Promise.all(Array.from({ length: 25 }, async () => {
      const r = await poll(h, { topic: 'q', clid, timeout: 0 });
      assert.equal(r.status, 200, r.text);
    }));
    // The poll watcher polls on (which also keeps its session alive).
    const p = await poll(h, { connid: pollWatch.connid, secret: pollWatch.secret, since: cursor, timeout: 0 });
    assert.equal(p.status, 200, p.text);
    watched.push(...p.json.events);
    cursor = p.json.cursor;
  }
  // Presence still works live: the watchers heard the churn...
  const connects = await waitMessages(sseWatch, CHURN, 20000);
  assert.ok(connects.every((m) => m.json.ep.emitted === `@CONNECTION@/${clid}`));
  assert.ok(connects.some((m) => m.json.e.type === 'connect'));
  const polled = watched.filter((e) => e.e && e.e.type === 'connect' && e.ep.emitted === `@CONNECTION@/${clid}`);
  assert.ok(polled.length >= CHURN / 2, `poll watcher gets presence: ${polled.length} connects`);

  // ...but history holds only the application events.
  const st = await h.state();
  assert.equal(st.history.count, 2, `history: ${JSON.stringify(st.history)}`);

  // SSE resume from before `kept`: replayed, no reset, no presence.
  const resumed = await sseOpen(h, { topic, ep: `@CONNECTION@/${clid}` }, { lastEventId: marker.id });
  const [m] = await waitMessages(resumed, 1);
  assert.equal(m.id, kept.id);
  assert.equal(m.json.e.type, 'kept');
  assert.equal(resumed.named('reset').length, 0, 'no reset');
  // Poll resume too.
  const r = await poll(h, { topic, since: marker.id, timeout: 0 });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.events.map((e) => e.e.type), ['kept'], r.text.slice(0, 300));
  // A live application event still follows.
  const live = await publishOk(h, topic, 'live');
  assert.equal((await resumed.next((e) => e.type === 'message' && e.json.e.type === 'live')).id, live.id);
}, { timeout: 120000 });

htest('presence during a replay: held until the replay passes it, delivered once, in id order', async () => {
  const h = await startHerald({ workers: 1 });
  const clid = uid('r');
  const topic = uid('hist');
  const start = await publishOk(h, topic, 'start');
  // Enough history that the replay spans many loop iterations (it pauses at
  // half the output cap while the client reads).
  const detail = 'x'.repeat(8000);
  for (let i = 0; i < 3000; i += 50) {
    await publishOk(h, Array.from({ length: 50 }, () => topic), 'old', detail);
  }
  // Two filters match each presence event: it must still come once.
  const s = sseConnect(h, { topic: [topic, `@CONNECTION@/${clid}`, '@CONNECTION@/+'] }, { lastEventId: start.id });
  await s.response;
  // Connections of `clid` come and go while the replay runs.
  for (let i = 0; i < 5; i++) await connect(h, { clid, ep: ['elsewhere'] });
  // 3000 old events, the stream's own (anonymous) connect, five of clid's.
  const all = await waitMessages(s, 3006, 30000);
  const presence = all.filter((m) => m.json.ep.emitted === `@CONNECTION@/${clid}`);
  assert.equal(presence.length, 5, `connects: ${presence.map((m) => m.id).join(',')}`);
  assert.deepEqual(presence.map((m) => String(m.json.e.detail.clid_instances)), ['1', '2', '3', '4', '5']);
  const seqs = all.map((m) => Number(m.id.split('-')[1]));
  for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i] > seqs[i - 1], `id order at ${i}: ${seqs[i - 1]} → ${seqs[i]}`);
  assert.equal(s.named('reset').length, 0);
}, { timeout: 120000 });
