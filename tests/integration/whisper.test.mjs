// Whisper: an event for one connection only, whichever worker owns it.
import assert from 'node:assert/strict';
import { htest, startHerald, publish, uid, waitFor } from './lib/herald.mjs';
import { connect, barrier } from './lib/esweb_client.mjs';

// Opens streams on `topic` until both workers own at least `min` of them
// (bounded: at most 40 streams). Returns {subs, byWorker: Map(worker → [sub])}.
async function streamsOnEveryWorker(h, topic, workers = 2, min = 2) {
  const subs = [];
  let byWorker = new Map();
  for (let i = 0; i < 40; i++) {
    subs.push(await connect(h, { clid: 'wh', ep: [topic] }, { label: `w${i}` }));
    if (subs.length < workers * min) continue;
    const d = await h.connections('clid=wh&details=true');
    assert.ok(Array.isArray(d.connections), `details list: ${JSON.stringify(d)}`);
    byWorker = new Map();
    for (const c of d.connections) {
      const s = subs.find((x) => x.detail.connid === c.connid);
      if (!s) continue;
      if (!byWorker.has(c.worker)) byWorker.set(c.worker, []);
      byWorker.get(c.worker).push(s);
    }
    let ok = true;
    for (let w = 0; w < workers; w++) if ((byWorker.get(w) || []).length < min) ok = false;
    if (ok) return { subs, byWorker };
  }
  assert.fail(`40 streams did not spread over ${workers} workers: ` +
    JSON.stringify([...byWorker].map(([w, l]) => [w, l.length])));
}

htest('whisper: reaches only the target connection, on each worker', async () => {
  const h = await startHerald({ workers: 2 });
  const topic = 'chat/room1';
  const { subs, byWorker } = await streamsOnEveryWorker(h, topic);
  for (const w of [0, 1]) {
    const target = byWorker.get(w)[0];
    const t = uid('wh');
    const r = await publish(h, { ep: [{ topic, whisper: target.detail.connid }], e: { type: t, detail: { to: w } } });
    assert.equal(r.status, 200, `whisper → ${r.status} ${r.text}`);
    assert.equal(r.json.ids.length, 1);
    const f = await target.next(t);
    assert.deepEqual(f.ep, { requested: topic, emitted: topic });
    assert.deepEqual(f.e, { type: t, detail: { to: w } });
    assert.equal(f.id, r.json.id);
    await barrier(h, subs, topic);
    for (const s of subs) {
      assert.equal(s.all(t).length, s === target ? 1 : 0, `${s.label} (connid ${s.detail.connid}) whisper count`);
    }
  }
});

htest('whisper: only if one of the target\'s filters matches the topic', async () => {
  const h = await startHerald();
  const target = await connect(h, { ep: ['w/a', 'w/wild/+'] }, { label: 'target' });
  const other = await connect(h, { ep: ['w/b', 'w/a'] }, { label: 'other' });

  const miss = uid('miss');
  let r = await publish(h, { ep: [{ topic: 'w/b', whisper: target.detail.connid }], e: { type: miss } });
  assert.equal(r.status, 200, r.text);
  const hit = uid('hit');
  r = await publish(h, { ep: [{ topic: 'w/wild/x', whisper: target.detail.connid }], e: { type: hit } });
  assert.equal(r.status, 200, r.text);
  const f = await target.next(hit);
  assert.deepEqual(f.ep, { requested: 'w/wild/+', emitted: 'w/wild/x' });
  await barrier(h, [target, other], 'w/a');
  assert.equal(target.all(miss).length, 0, 'target does not subscribe to w/b: no whisper');
  assert.equal(other.all(miss).length, 0, 'a whisper to someone else never reaches other subscribers');
});

htest('whisper and shout in one publish; whisper to a gone connection is harmless', async () => {
  const h = await startHerald();
  const a = await connect(h, { ep: ['m/t'] }, { label: 'a' });
  const b = await connect(h, { ep: ['m/t'] }, { label: 'b' });
  const gone = await connect(h, { ep: ['m/t'] }, { label: 'gone' });
  const goneId = gone.detail.connid;
  gone.close();
  await waitFor(async () => (await h.state()).connections.total === 2, { what: 'closed stream to be counted out' });

  const t = uid('mix');
  const r = await publish(h, { ep: ['m/t', { topic: 'm/t', whisper: a.detail.connid }], e: { type: t } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.ids.length, 2);
  await barrier(h, [a, b], 'm/t');
  assert.equal(a.all(t).length, 2, 'a gets the shout and the whisper (two events, two ids)');
  assert.equal(b.all(t).length, 1, 'b gets the shout only');
  assert.notEqual(a.all(t)[0].id, a.all(t)[1].id);

  const t2 = uid('gone');
  const r2 = await publish(h, { ep: [{ topic: 'm/t', whisper: goneId }], e: { type: t2 } });
  assert.ok(r2.status === 200 || r2.status === 404, `whisper to a closed connection → ${r2.status} ${r2.text}`);
  await barrier(h, [a, b], 'm/t');
  assert.equal(a.all(t2).length + b.all(t2).length, 0);
});
