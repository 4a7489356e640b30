// 10,000 events published at full speed by several concurrent publishers
// reach an SSE subscriber and a long-polling loop with zero loss and zero
// duplicates, ids strictly increasing.
import assert from 'node:assert/strict';
import { htest, startHerald, publishOk, uid } from './lib/herald.mjs';
import { sseOpen, waitMessages } from './lib/sse_client.mjs';
import { pollStart, pollLoop } from './lib/poll_client.mjs';

const TOTAL = 10000;
const PUBLISHERS = 4;
const PER_REQUEST = 25;

htest('load: 10,000 events from 4 concurrent publishers → SSE and long polling, no loss, no duplicate, ids increasing', async () => {
  const h = await startHerald({ workers: 2, config: { limits: { max_output_buffer_bytes: 64 << 20 } } });
  const base = `load/${uid('t')}`;
  const sse = await sseOpen(h, { topic: `${base}/#` });
  const session = await pollStart(h, { topic: `${base}/+` });

  const published = new Set();
  const publisher = async (p) => {
    for (let i = 0; i < TOTAL / PUBLISHERS; i += PER_REQUEST) {
      const ep = Array.from({ length: PER_REQUEST }, (_, k) => `${base}/p${p}`);
      const r = await publishOk(h, ep, 'load', { p, i });
      for (const id of r.ids) published.add(id);
    }
  };
  const polling = pollLoop(h, session, { cursor: session.cursor, done: (ev) => ev.length >= TOTAL, deadlineMs: 90000, timeout: 5000 });
  await Promise.all(Array.from({ length: PUBLISHERS }, (_, p) => publisher(p)));
  assert.equal(published.size, TOTAL);

  const check = (label, ids) => {
    assert.equal(ids.length, TOTAL, `${label}: count`);
    const seqs = ids.map((id) => Number(id.split('-')[1]));
    for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i] > seqs[i - 1], `${label}: ids increase at ${i}`);
    assert.equal(new Set(ids).size, TOTAL, `${label}: no duplicate`);
    for (const id of ids) assert.ok(published.has(id), `${label}: ${id} was published`);
  };
  const msgs = await waitMessages(sse, TOTAL, 60000);
  check('sse', msgs.map((e) => e.id));
  const { events, polls } = await polling;
  check('poll', events.map((e) => e.id));
  assert.ok(polls >= TOTAL / 100, 'batched by poll.max_batch (100)');
  const st = await h.state();
  assert.equal(st.events.dropped, 0);
  assert.equal(st.closed.slow, 0);
}, { timeout: 180000 });
