// GET /connections in its three forms.
import assert from 'node:assert/strict';
import { htest, startHerald, waitFor } from './lib/herald.mjs';
import { connect } from './lib/esweb_client.mjs';

htest('connections: counts per clid and @TOTAL@', async () => {
  const h = await startHerald();
  assert.deepEqual(await h.connections(), { '@TOTAL@': 0 });
  const x1 = await connect(h, { clid: 'x', ep: ['a'] });
  await connect(h, { clid: 'x', ep: ['b'] });
  await connect(h, { ep: ['a'] });
  const y = await connect(h, { clid: 'y', ep: ['c'] });
  assert.deepEqual(await h.connections(), { x: 2, y: 1, '@ANON_CONNECTION@': 1, '@TOTAL@': 4 });

  y.close();
  x1.close();
  const after = await waitFor(async () => {
    const c = await h.connections();
    return c['@TOTAL@'] === 2 ? c : null;
  }, { what: '@TOTAL@ back to 2' });
  assert.equal(after.x, 1);
  assert.equal(after['@ANON_CONNECTION@'], 1);
  assert.equal(after.y ?? 0, 0, 'a clid with no connection left counts 0 or is absent');
});

htest('connections: ?clid=x gives that count only', async () => {
  const h = await startHerald();
  await connect(h, { clid: 'x', ep: ['a'] });
  await connect(h, { clid: 'x', ep: ['a'] });
  await connect(h, { clid: 'other', ep: ['a'] });
  assert.deepEqual(await h.connections('clid=x'), { x: 2 });
  assert.deepEqual(await h.connections('clid=nobody'), { nobody: 0 });
  assert.deepEqual(await h.connections(`clid=${encodeURIComponent("zoë's 😀")}`), { "zoë's 😀": 0 });
  await connect(h, { clid: "zoë's 😀", ep: ['a'] });
  assert.deepEqual(await h.connections(`clid=${encodeURIComponent("zoë's 😀")}`), { "zoë's 😀": 1 });
  assert.deepEqual(await h.connections(`clid=${encodeURIComponent('@ANON_CONNECTION@')}`), { '@ANON_CONNECTION@': 0 });
  // details=false is the plain count
  assert.deepEqual(await h.connections('clid=x&details=false'), { x: 2 });
});

htest('connections: ?clid=x&details=true describes each connection', async () => {
  const h = await startHerald({ workers: 2 });
  const bodies = [
    { clid: 'd', ep: ['house/+/temp', { topic: 'obj/t', binded: true }, { topic: 'o2' }], extra: "zoë's" },
    { clid: 'd', ep: ['a/#'] },
  ];
  const t0 = Date.now();
  const subs = [];
  for (const b of bodies) {
    subs.push(await connect(h, b, { headers: { 'X-Test-Header': 'hello-herald', 'User-Agent': 'herald-it' } }));
  }
  await connect(h, { clid: 'not-d', ep: ['z'] });

  const d = await h.connections('clid=d&details=true');
  assert.equal(d.d, 2);
  assert.deepEqual(Object.keys(d).sort(), ['connections', 'd']);
  assert.ok(Array.isArray(d.connections));
  assert.equal(d.connections.length, 2);
  for (let i = 0; i < 2; i++) {
    const s = subs[i];
    const c = d.connections.find((x) => x.connid === s.detail.connid);
    assert.ok(c, `connid ${s.detail.connid} listed: ${JSON.stringify(d)}`);
    for (const k of ['connid', 'clid', 'transport', 'worker', 'since', 'remote', 'headers', 'body', 'filters']) {
      assert.ok(k in c, `field ${k} in ${JSON.stringify(c)}`);
    }
    assert.equal(c.clid, 'd');
    assert.equal(c.transport, 'stream');
    assert.ok(Number.isInteger(c.worker) && c.worker >= 0 && c.worker < 2, `worker ${c.worker}`);
    assert.ok(Number.isInteger(c.since) && c.since >= t0 - 5000 && c.since <= Date.now() + 5000, `since ${c.since}`);
    assert.equal(c.remote, `127.0.0.1:${s.localPort}`);
    assert.ok(c.headers && typeof c.headers === 'object' && !Array.isArray(c.headers));
    const hdr = Object.fromEntries(Object.entries(c.headers).map(([k, v]) => [k.toLowerCase(), v]));
    assert.equal(hdr['x-test-header'], 'hello-herald');
    assert.equal(hdr['user-agent'], 'herald-it');
    assert.deepEqual(c.body, bodies[i], 'body is the subscribe body as JSON');
    const topics = bodies[i].ep.map((e) => (typeof e === 'string' ? e : e.topic)).sort();
    assert.ok(Array.isArray(c.filters));
    assert.deepEqual([...c.filters].map((f) => (typeof f === 'string' ? f : f.topic)).sort(), topics);
  }
  // details for a clid with no connection
  const none = await h.connections('clid=nobody&details=true');
  assert.equal(none.nobody, 0);
  assert.deepEqual(none.connections, []);
});

htest('connections: counts agree with /state across workers', async () => {
  const h = await startHerald({ workers: 2 });
  for (let i = 0; i < 10; i++) await connect(h, { clid: `c${i % 3}`, ep: ['t'] });
  const c = await h.connections();
  assert.equal(c['@TOTAL@'], 10);
  assert.equal(c.c0 + c.c1 + c.c2, 10);
  const st = await h.state();
  assert.equal(st.connections.total, 10);
});
