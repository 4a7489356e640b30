// Resume through the asynchronous Store::Read (issue 11.3): a cursor on a
// wildcard filter across many topics replays exactly the matching events,
// by id and in order, over several reads (the replayer reads 200 at a time),
// while publishes on matching and non-matching topics race the replay; the
// same cursor on a poll session reads the same ids.
import assert from 'node:assert/strict';
import { htest, startHerald, publishOk, uid } from './lib/herald.mjs';
import { sseOpen, waitMessages } from './lib/sse_client.mjs';
import { pollStart, pollLoop } from './lib/poll_client.mjs';

htest('resume: a wildcard cursor across many topics replays exactly the matching ids, in order, then live', async () => {
  const h = await startHerald({ workers: 2 });
  const base = uid('wc');
  const start = await publishOk(h, `${base}/t0/x`, 'start');
  const want = [];
  // 60 topics; every publish also hits a topic the filter does not match,
  // in the same request, so matching ids are not contiguous.
  const round = async (tag) => {
    for (let i = 0; i < 60; i++) {
      const r = await publishOk(h, [`${base}/t${i}/x`, `${base}/t${i}/y`, `other/${base}/t${i}/x`], tag);
      want.push(r.ids[0]);
    }
  };
  for (let k = 0; k < 5; k++) await round('old');  // 300 matching, in 900 events
  const s = await sseOpen(h, `topic=${encodeURIComponent(`${base}/+/x`)}&lastEventId=${start.id}`);
  for (let k = 0; k < 2; k++) await round('new');  // racing the replay
  await waitMessages(s, want.length, 30000);
  const got = s.messages().map((e) => e.id);
  assert.deepEqual(got, want);
  assert.ok(s.messages().every((e) => e.json.ep.requested === `${base}/+/x`));
  assert.equal(s.named('reset').length, 0);

  // The same cursor on a poll session: the same ids, in the same order.
  const p = await pollStart(h, { topic: `${base}/+/x`, since: start.id });
  const { events } = await pollLoop(h, p, {
    cursor: p.cursor,
    done: (ev) => p.events.length + ev.length >= want.length,
  });
  assert.deepEqual([...p.events, ...events].map((e) => e.id), want);
});
