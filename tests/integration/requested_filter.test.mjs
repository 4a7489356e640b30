// Issue 9 B.9: the filter named in `ep.requested` is deterministic and the
// same live, in replay (Last-Event-ID, last_event_id) and in polling. The rule
// (docs/protocol.md): the most specific matching filter, and among equally
// specific ones (a published topic with wildcards) the one subscribed first.
import assert from 'node:assert/strict';
import { htest, startHerald, publishOk, uid } from './lib/herald.mjs';
import { connect } from './lib/esweb_client.mjs';
import { sseOpen } from './lib/sse_client.mjs';
import { pollStart, pollLoop } from './lib/poll_client.mjs';

htest('requested filter: a wildcard publish over k0/x … kN/x names the first one subscribed, live, replayed and polled', async () => {
  const h = await startHerald();
  const p = uid('rq');
  // Subscribed in this order; the index holds them in hash order.
  const filters = [7, 3, 11, 0, 5, 9, 1, 14, 2, 12, 6, 4, 13, 8, 10].map((k) => `${p}/k${k}/x`);
  filters.push(`${p}/+/x`);
  const cases = [
    // [published topic, filter it must name]
    [`${p}/+/x`, filters[0]],
    [`${p}/#`, filters[0]],
    [`${p}/+/+`, filters[0]],
    [`${p}/k4/x`, `${p}/k4/x`],
    [`${p}/k99/x`, `${p}/+/x`],
  ];
  const start = await publishOk(h, `${p}/start`, 'start');
  const liveSse = await sseOpen(h, { topic: filters });
  const liveStream = await connect(h, { ep: filters });
  const session = await pollStart(h, { topic: filters });
  for (const [topic] of cases) await publishOk(h, topic, `to ${topic}`);

  const replaySse = await sseOpen(h, { topic: filters }, { lastEventId: start.id });
  const replayStream = await connect(h, { ep: filters, last_event_id: start.id });
  const polledFrom = await pollStart(h, { topic: filters, since: start.id });
  const polled = await pollLoop(h, session, { cursor: session.cursor, done: (evs) => evs.filter((e) => e.id).length >= cases.length });

  for (const [topic, want] of cases) {
    const type = `to ${topic}`;
    const named = {
      'sse live': (await liveSse.next(type)).json.ep.requested,
      'sse Last-Event-ID': (await replaySse.next(type)).json.ep.requested,
      'stream live': (await liveStream.next(type)).ep.requested,
      'stream last_event_id': (await replayStream.next(type)).ep.requested,
      'poll follow-up': polled.events.find((e) => e.e.type === type).ep.requested,
      'poll since': polledFrom.events.find((e) => e.e.type === type).ep.requested,
    };
    for (const [way, got] of Object.entries(named)) assert.equal(got, want, `${type} via ${way}`);
  }
});
