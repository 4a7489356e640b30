// issue 9 B.11: presence cannot flush history. @CONNECTION@ connect and
// disconnect events go to their watchers live (stream, SSE and poll alike)
// but are not history: thousands of anonymous poll sessions coming and going
// leave application events replayable, and a resume never replays presence.
import assert from 'node:assert/strict';
import { htest, startHerald, publishOk, uid } from './lib/herald.mjs';
import { sseOpen, waitMessages } from './lib/sse_client.mjs';
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
