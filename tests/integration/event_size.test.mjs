// issue 9 B.10: one oversized event does not cut fast readers. A publish whose
// encoded event is over limits.max_event_bytes is refused with a 413 naming
// the limit; an event under it reaches a reader that keeps up even when its
// frame is larger than limits.max_output_buffer_bytes allows to queue.
import assert from 'node:assert/strict';
import { htest, startHerald, publish, publishOk, uid } from './lib/herald.mjs';
import { connect } from './lib/esweb_client.mjs';
import { sseOpen, waitMessages } from './lib/sse_client.mjs';

const CAP = 65536;
const LIMIT = CAP - 1;  // the largest allowed: an event frame then exceeds the cap
const EMOJI = '😀';     // 4 bytes sent, 12 on the wire (\ud83d\ude00)

// {"type":"big","detail":"<n emoji>"} as encoded: 26 + 12 n bytes.
const encodedSize = (n) => 26 + 12 * n;

htest('event size: over limits.max_event_bytes → 413 naming the limit, counted as encoded', async () => {
  const h = await startHerald({ workers: 1, config: { limits: { max_output_buffer_bytes: CAP, max_event_bytes: LIMIT } } });
  const st = await h.state();
  assert.equal(st.limits.max_event_bytes, LIMIT);
  const topic = uid('big');
  const sse = await sseOpen(h, { topic });
  const n = Math.floor((LIMIT - 26) / 12) + 1;
  assert.ok(encodedSize(n) > LIMIT && 4 * n < LIMIT, 'over the limit only once escaped');
  const r = await publish(h, { ep: [topic], e: { type: 'big', detail: EMOJI.repeat(n) } });
  assert.equal(r.status, 413, `${r.status} ${r.text}`);
  assert.match(r.text, /limits\.max_event_bytes/, r.text);
  // Nothing went out; the next publish does.
  await publishOk(h, topic, 'small', 1);
  const msgs = await waitMessages(sse, 1);
  assert.deepEqual(msgs.map((m) => m.json.e.type), ['small']);
});

htest('event size: readers that keep up survive an event just under the limit whose frame exceeds the output cap', async () => {
  const h = await startHerald({ workers: 1, config: { limits: { max_output_buffer_bytes: CAP, max_event_bytes: LIMIT } } });
  const topic = uid('edge');
  const stream = await connect(h, { ep: [topic] }, { label: 'stream' });
  const sse = await sseOpen(h, { topic });
  const n = Math.floor((LIMIT - 26) / 12);
  assert.ok(encodedSize(n) <= LIMIT && encodedSize(n) > LIMIT - 12);
  const detail = EMOJI.repeat(n);
  const before = await publishOk(h, topic, 'before', 0);
  await publishOk(h, topic, 'big', detail);
  await publishOk(h, topic, 'after', 1);

  const f = await stream.next('big', 10000);
  assert.ok(f.raw.length > CAP, `the frame (${f.raw.length} bytes) is larger than the cap`);
  assert.equal(f.e.detail, detail);
  await stream.next('after', 10000);
  const msgs = await waitMessages(sse, 3);
  assert.equal(msgs[1].json.e.detail, detail);
  assert.equal(msgs[2].json.e.type, 'after');
  // A resume from before it replays it too, without closing the resumer.
  const resumed = await sseOpen(h, { topic }, { lastEventId: before.id });
  const replayed = await waitMessages(resumed, 2);
  assert.equal(replayed[0].json.e.detail, detail);
  assert.equal(replayed[1].json.e.type, 'after');
  assert.equal(resumed.named('disconnect').length, 0);
  assert.equal(stream.isEnded, false, 'the stream is still open');
  assert.equal(sse.isEnded, false, 'the SSE stream is still open');
  assert.equal(sse.named('disconnect').length, 0);
  const st = await h.state();
  assert.equal(st.closed.slow, 0, 'nobody was closed as slow');
  assert.equal(st.connections.total, 3);
});
