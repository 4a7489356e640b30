// Overlapping filters on one connection: each event arrives once, and `requested`
// names the most specific matching filter (level by level from the left: exact
// beats `+`, `+` beats `#`).
import assert from 'node:assert/strict';
import { htest, startHerald, publishOk, uid } from './lib/herald.mjs';
import { connect, barrier } from './lib/esweb_client.mjs';

const CASES = [
  { filters: ['house/#', 'house/kitchen/temp', '+/kitchen/temp'], topic: 'house/kitchen/temp', want: 'house/kitchen/temp' },
  { filters: ['#', 'house/#', '+/kitchen/temp', 'house/+/temp'], topic: 'house/kitchen/temp', want: 'house/+/temp' },
  { filters: ['house/+/temp', 'house/kitchen/+', '+/kitchen/temp'], topic: 'house/kitchen/temp', want: 'house/kitchen/+' },
  { filters: ['#', '+/+/temp'], topic: 'house/kitchen/temp', want: '+/+/temp' },
  { filters: ['house/#', 'house/kitchen/#'], topic: 'house/kitchen/temp', want: 'house/kitchen/#' },
  { filters: ['+/#', 'house/#'], topic: 'house/kitchen/temp', want: 'house/#' },
  { filters: ['+/+/+', '+/#'], topic: 'house/kitchen/temp', want: '+/+/+' },
  { filters: ['house/#', 'house'], topic: 'house', want: 'house' },
  { filters: ['a', 'a'], topic: 'a', want: 'a' },
  { filters: ['#', 'a/#', 'a/+', 'a/b'], topic: 'a/b', want: 'a/b' },
];

htest('overlap: one delivery per event, requested = most specific filter', async () => {
  const h = await startHerald();
  const subs = [];
  for (let i = 0; i < CASES.length; i++) {
    const c = CASES[i];
    // A unique root per case keeps the cases apart: prefix every filter and topic.
    const root = `ov${i}`;
    const pre = (x) => `${root}/${x}`;
    c.sub = await connect(h, { ep: c.filters.map(pre) }, { label: `case${i}` });
    c.rootTopic = pre(c.topic);
    c.wantFull = pre(c.want);
    subs.push(c.sub);
  }
  for (let i = 0; i < CASES.length; i++) {
    const c = CASES[i];
    const t = uid('ov');
    const r = await publishOk(h, c.rootTopic, t);
    const f = await c.sub.next(t);
    assert.equal(f.id, r.id);
    assert.deepEqual(f.ep, { requested: c.wantFull, emitted: c.rootTopic },
      `filters ${JSON.stringify(c.filters)} topic ${c.topic}`);
    await barrier(h, [c.sub], c.rootTopic);
    assert.equal(c.sub.all(t).length, 1, `filters ${JSON.stringify(c.filters)}: delivered once`);
  }
});

htest('overlap: a symmetric wildcard publish matching several filters arrives once', async () => {
  const h = await startHerald();
  const s = await connect(h, { ep: ['z/kitchen/temp', 'z/kitchen/light', 'z/+/temp', 'z/#'] });
  for (const topic of ['z/#', 'z/kitchen/#', 'z/+/temp', '#']) {
    const t = uid('sym');
    await publishOk(h, topic, t);
    const f = await s.next(t);
    assert.equal(f.ep.emitted, topic);
    await barrier(h, [s], 'z/kitchen/temp');
    assert.equal(s.all(t).length, 1, `publish to ${topic} delivered once`);
  }
});

htest('overlap: two connections with overlapping filters each get the event once', async () => {
  const h = await startHerald();
  const a = await connect(h, { ep: ['o/#', 'o/x'] });
  const b = await connect(h, { ep: ['o/+', '#'] });
  const t = uid('two');
  await publishOk(h, 'o/x', t);
  assert.equal((await a.next(t)).ep.requested, 'o/x');
  assert.equal((await b.next(t)).ep.requested, 'o/+');
  await barrier(h, [a, b], 'o/x');
  assert.equal(a.all(t).length, 1);
  assert.equal(b.all(t).length, 1);
});
