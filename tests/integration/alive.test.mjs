// POST /alive: secret rotation, old secret rejected, max_alive_count, timeout restart.
import assert from 'node:assert/strict';
import { htest, startHerald, request, assertError, SECRET_RE, waitFor } from './lib/herald.mjs';
import { connect, bystander } from './lib/esweb_client.mjs';

const alive = (h, body) => request(h.pub + '/alive', { method: 'POST', body });

htest('alive: rotates the secret; the old secret is then rejected', async () => {
  const h = await startHerald();
  const s = await connect(h, { ep: ['al'] });
  const { connid, secret } = s.detail;

  const r1 = await alive(h, { connid, secret });
  assert.equal(r1.status, 200, r1.text);
  assert.deepEqual(Object.keys(r1.json).sort(), ['connid', 'secret', 'timeout']);
  assert.equal(r1.json.connid, connid);
  assert.equal(r1.json.timeout, 60000);
  assert.match(r1.json.secret, SECRET_RE);
  assert.equal(Buffer.from(r1.json.secret, 'base64url').length, 16);
  assert.notEqual(r1.json.secret, secret, 'a new secret');
  assert.match(String(r1.headers['content-type']), /application\/json/);

  assertError(await alive(h, { connid, secret }), 400, 'Invalid data', 'old secret');

  const r2 = await alive(h, { connid, secret: r1.json.secret });
  assert.equal(r2.status, 200, r2.text);
  assert.notEqual(r2.json.secret, r1.json.secret);
  assertError(await alive(h, { connid, secret: r1.json.secret }), 400, 'Invalid data', 'previous secret');

  // The stream is untouched by all this.
  assert.equal(s.isEnded, false);
});

htest('alive: wrong pairs → Invalid data; bad shapes → Invalid object', async () => {
  const h = await startHerald();
  const by = await bystander(h);
  const s = await connect(h, { ep: ['al'] });
  const { connid, secret } = s.detail;
  const other = await connect(h, { ep: ['al'] });

  assertError(await alive(h, { connid, secret: 'A'.repeat(22) }), 400, 'Invalid data', 'wrong secret');
  assertError(await alive(h, { connid: connid + 1000000, secret }), 400, 'Invalid data', 'unknown connid');
  assertError(await alive(h, { connid: other.detail.connid, secret }), 400, 'Invalid data', 'secret of another connection');
  assertError(await alive(h, { connid, secret: '' }), 400, 'Invalid data', 'empty secret');

  const shapes = [
    ['[]', 'array'], ['"x"', 'string'], ['42', 'number'], ['null', 'null'],
    [JSON.stringify({ secret }), 'missing connid'], [JSON.stringify({ connid }), 'missing secret'],
    [JSON.stringify({ connid: String(connid), secret }), 'connid as string'],
    [JSON.stringify({ connid, secret: 12345 }), 'secret as number'],
    ['{"connid": ', 'bad JSON'], ['', 'empty body'],
  ];
  for (const [body, what] of shapes) {
    const r = await request(h.pub + '/alive', { method: 'POST', body });
    assertError(r, 400, 'Invalid object', what);
  }
  // None of this touched the real pair.
  const ok = await alive(h, { connid, secret });
  assert.equal(ok.status, 200, ok.text);
  await by.check('bad /alive requests');
});

htest('alive: at most stream.max_alive_count resets, then Max alive reached', async () => {
  const h = await startHerald({ config: { stream: { max_alive_count: 2 } } });
  const s = await connect(h, { ep: ['al'] });
  let secret = s.detail.secret;
  for (let i = 0; i < 2; i++) {
    const r = await alive(h, { connid: s.detail.connid, secret });
    assert.equal(r.status, 200, `reset ${i + 1}: ${r.text}`);
    secret = r.json.secret;
  }
  assertError(await alive(h, { connid: s.detail.connid, secret }), 400, 'Max alive reached', 'third reset');
  assertError(await alive(h, { connid: s.detail.connid, secret }), 400, 'Max alive reached', 'fourth reset');
  // Another connection has its own count.
  const s2 = await connect(h, { ep: ['al'] });
  const r = await alive(h, { connid: s2.detail.connid, secret: s2.detail.secret });
  assert.equal(r.status, 200, r.text);
});

htest('alive: restarts the timeout (a 1 s stream stays open past 2 s), then times out', async () => {
  const h = await startHerald({ config: { stream: { timeout_ms: 1000, max_alive_count: 100 } } });
  const s = await connect(h, { ep: ['al'] });
  const t0 = Date.now();
  let secret = s.detail.secret;
  let calls = 0;
  // Reset every 250 ms (well inside the 1 s timeout) until the stream is 2.5 s old.
  for (let i = 0; i < 100 && Date.now() - t0 < 2500; i++) {
    const r = await alive(h, { connid: s.detail.connid, secret });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.timeout, 1000);
    secret = r.json.secret;
    calls += 1;
    assert.equal(s.isEnded, false, `stream still open at ${Date.now() - t0} ms after ${calls} resets`);
    await new Promise((res) => setTimeout(res, 250));
  }
  assert.equal(s.isEnded, false, 'stream outlived its 1 s timeout thanks to /alive');
  assert.ok(Date.now() - t0 >= 2000);
  // Stop resetting: it times out.
  const f = await s.next((x) => x.ep.requested === '@SERVER@', 5000);
  assert.equal(f.e.type, 'disconnect');
  assert.equal(f.e.detail.reason, 'timeout');
  assert.equal((await s.ended).complete, true);
  // A timed-out connection's pair is no longer valid.
  assertError(await alive(h, { connid: s.detail.connid, secret }), 400, 'Invalid data', 'after timeout');
  await waitFor(async () => (await h.state()).connections.total === 0, { what: 'no connection left' });
});

htest('alive: works for connections on either worker', async () => {
  const h = await startHerald({ workers: 2 });
  const subs = [];
  for (let i = 0; i < 8; i++) subs.push(await connect(h, { clid: 'aw', ep: ['al'] }));
  const d = await h.connections('clid=aw&details=true');
  const workers = new Set(d.connections.map((c) => c.worker));
  for (const s of subs) {
    const r = await alive(h, { connid: s.detail.connid, secret: s.detail.secret });
    assert.equal(r.status, 200, `connid ${s.detail.connid}: ${r.text}`);
  }
  assert.ok(workers.size >= 1);
});
