// Shout delivery: exact topics, `+` and `#` filters, symmetric wildcard publishes,
// and what must not match.
import assert from 'node:assert/strict';
import { htest, startHerald, publishOk, uid, ID_RE } from './lib/herald.mjs';
import { connect, barrier } from './lib/esweb_client.mjs';

htest('shout: exact topic, event frame fields and ids', async () => {
  const h = await startHerald();
  const a = await connect(h, { ep: ['house/kitchen/temp'] });
  const b = await connect(h, { ep: ['house/kitchen/temp'] });
  const other = await connect(h, { ep: ['house/kitchen/light'] });

  const before = Date.now();
  const reply = await publishOk(h, 'house/kitchen/temp', 'reading', { c: 21.5, tags: ['x', 1, null, true] });
  assert.match(reply.id, ID_RE, `reply id ${reply.id}`);
  assert.ok(Array.isArray(reply.ids) && reply.ids.length === 1, `ids: one per ep entry ${JSON.stringify(reply.ids)}`);
  assert.equal(reply.ids[0], reply.id);

  for (const s of [a, b]) {
    const f = await s.next('reading');
    assert.deepEqual(Object.keys(f).sort(), ['e', 'ep', 'iat', 'id']);
    assert.equal(f.id, reply.id);
    assert.ok(Number.isInteger(f.iat) && Math.abs(f.iat - before) < 60000, `iat ${f.iat}`);
    assert.deepEqual(f.ep, { requested: 'house/kitchen/temp', emitted: 'house/kitchen/temp' });
    assert.deepEqual(f.e, { type: 'reading', detail: { c: 21.5, tags: ['x', 1, null, true] } });
  }
  await barrier(h, [other], 'house/kitchen/light');
  assert.equal(other.all('reading').length, 0, 'a different topic does not get it');

  // Ids increase from one publish to the next, and a multi-topic publish gets one id per entry.
  const r2 = await publishOk(h, ['house/kitchen/temp', 'house/kitchen/light'], 'two');
  assert.equal(r2.ids.length, 2);
  for (const id of r2.ids) assert.match(id, ID_RE);
  const seq = (id) => BigInt(id.split('-')[1]);
  assert.ok(seq(r2.ids[0]) > seq(reply.id), `ids increase: ${reply.id} then ${r2.ids}`);
  assert.equal(r2.ids[0].split('-')[0], reply.id.split('-')[0], 'same epoch');
  const fa = await a.next('two');
  const fo = await other.next('two');
  assert.ok(r2.ids.includes(fa.id) && r2.ids.includes(fo.id));
  assert.equal(fa.ep.emitted, 'house/kitchen/temp');
  assert.equal(fo.ep.emitted, 'house/kitchen/light');

  // Detail is optional.
  await publishOk(h, 'house/kitchen/temp', 'nodetail');
  const nd = await a.next('nodetail');
  assert.equal(nd.e.type, 'nodetail');
});

htest('shout: detail of every JSON kind arrives intact', async () => {
  const h = await startHerald();
  const s = await connect(h, { ep: ['kinds'] });
  const details = ['a string', 42, -1.5e-7, true, false, null, [], {}, { nested: { deep: [1, { x: 'y' }] } },
    'quote " backslash \\ slash / tab \t newline \n ctrl \u0001'];
  for (let i = 0; i < details.length; i++) {
    await publishOk(h, 'kinds', `k${i}`, details[i]);
    const f = await s.next(`k${i}`);
    assert.deepEqual(f.e.detail, details[i], `detail ${JSON.stringify(details[i])}`);
  }
});

htest('shout: + and # filters', async () => {
  const h = await startHerald();
  const plus = await connect(h, { ep: ['house/+/temp'] }, { label: 'plus' });
  const hash = await connect(h, { ep: ['house/#'] }, { label: 'hash' });
  const all = await connect(h, { ep: ['#'] }, { label: 'all' });
  const plusEnd = await connect(h, { ep: ['house/+'] }, { label: 'plusEnd' });
  const exact = await connect(h, { ep: ['house/kitchen/temp'] }, { label: 'exact' });
  const garden = await connect(h, { ep: ['garden/#'] }, { label: 'garden' });
  const subs = [plus, hash, all, plusEnd, exact, garden];
  const ctl = ['house/kitchen/temp', 'house/x', 'garden/x'];

  const t = uid('ev');
  await publishOk(h, 'house/kitchen/temp', t);
  // expected: who gets it, and under which requested filter
  const expect = new Map([[plus, 'house/+/temp'], [hash, 'house/#'], [all, '#'], [exact, 'house/kitchen/temp']]);
  for (const [s, req] of expect) {
    const f = await s.next(t);
    assert.deepEqual(f.ep, { requested: req, emitted: 'house/kitchen/temp' }, s.label);
  }
  await barrier(h, subs, ctl);
  assert.equal(plusEnd.all(t).length, 0, 'house/+ does not match house/kitchen/temp');
  assert.equal(garden.all(t).length, 0, 'garden/# does not match house/...');

  // `house/#` also matches `house` itself; `house/+` does not.
  const t2 = uid('ev');
  await publishOk(h, 'house', t2);
  assert.deepEqual((await hash.next(t2)).ep, { requested: 'house/#', emitted: 'house' });
  assert.deepEqual((await all.next(t2)).ep, { requested: '#', emitted: 'house' });
  await barrier(h, subs, ctl);
  assert.equal(plusEnd.all(t2).length, 0, 'house/+ does not match house');
  assert.equal(plus.all(t2).length, 0);
  assert.equal(exact.all(t2).length, 0);

  // `house/+` matches one level below house.
  const t3 = uid('ev');
  await publishOk(h, 'house/garage', t3);
  assert.deepEqual((await plusEnd.next(t3)).ep, { requested: 'house/+', emitted: 'house/garage' });
  await barrier(h, subs, ctl);
  assert.equal(plus.all(t3).length, 0);
  assert.equal(exact.all(t3).length, 0);

  // A topic that is a prefix or an extension of an exact filter does not match it.
  const t4 = uid('ev');
  await publishOk(h, ['house/kitchen', 'house/kitchen/temp/max'], t4);
  await barrier(h, subs, ctl);
  assert.equal(exact.all(t4).length, 0);
  assert.equal(plus.all(t4).length, 0, 'house/+/temp does not match house/kitchen/temp/max');
  assert.equal(hash.all(t4).length, 2);
});

htest('shout: symmetric wildcard publish reaches concrete subscribers', async () => {
  const h = await startHerald();
  const temp = await connect(h, { ep: ['house/kitchen/temp'] }, { label: 'temp' });
  const light = await connect(h, { ep: ['house/hall/light'] }, { label: 'light' });
  const house = await connect(h, { ep: ['house'] }, { label: 'house' });
  const garden = await connect(h, { ep: ['garden/pond'] }, { label: 'garden' });
  const subs = [temp, light, house, garden];
  const ctl = ['house/kitchen/temp', 'house/hall/light', 'house', 'garden/pond'];

  const t = uid('ev');
  await publishOk(h, 'house/#', t);
  assert.deepEqual((await temp.next(t)).ep, { requested: 'house/kitchen/temp', emitted: 'house/#' });
  assert.deepEqual((await light.next(t)).ep, { requested: 'house/hall/light', emitted: 'house/#' });
  assert.deepEqual((await house.next(t)).ep, { requested: 'house', emitted: 'house/#' });
  await barrier(h, subs, ctl);
  assert.equal(garden.all(t).length, 0, 'house/# publish does not reach garden/pond');

  const t2 = uid('ev');
  await publishOk(h, 'house/+/temp', t2);
  assert.deepEqual((await temp.next(t2)).ep, { requested: 'house/kitchen/temp', emitted: 'house/+/temp' });
  await barrier(h, subs, ctl);
  assert.equal(light.all(t2).length, 0, 'house/+/temp publish does not reach house/hall/light');
  assert.equal(house.all(t2).length, 0);

  const t3 = uid('ev');
  await publishOk(h, '#', t3);
  for (const s of subs) assert.equal((await s.next(t3)).ep.emitted, '#');
  await barrier(h, subs, ctl);
  for (const s of subs) assert.equal(s.all(t3).length, 1, `${s.label} gets a # publish once`);
});

htest('shout: one publish to several overlapping topics reaches a subscriber once per matching entry', async () => {
  // Each ep entry is its own event (one id per entry), so a subscriber matching two
  // entries gets two events with different ids — but never the same id twice.
  const h = await startHerald();
  const s = await connect(h, { ep: ['a/#'] });
  const t = uid('ev');
  const r = await publishOk(h, ['a/x', 'a/y'], t);
  await barrier(h, [s], 'a/z');
  const got = s.all(t);
  assert.equal(got.length, 2);
  assert.deepEqual(got.map((f) => f.id).sort(), [...r.ids].sort());
});
