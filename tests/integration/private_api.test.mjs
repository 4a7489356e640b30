// Private API auth (Bearer, ?token=, wrong, missing) and compat.public_private_api.
import assert from 'node:assert/strict';
import net from 'node:net';
import { htest, startHerald, request, publish, publishOk, uid, delay } from './lib/herald.mjs';
import { connect, bystander } from './lib/esweb_client.mjs';

const PATHS = ['/state', '/memory', '/connections'];

htest('private auth: Bearer and ?token= accepted; wrong or missing token → 401', async () => {
  const h = await startHerald({ tokens: ['tok-one', 'tok-two'] });
  const by = await bystander(h);
  for (const p of PATHS) {
    for (const tok of ['tok-one', 'tok-two']) {
      const r = await request(h.priv + p, { headers: { Authorization: `Bearer ${tok}` } });
      assert.equal(r.status, 200, `${p} Bearer ${tok} → ${r.status}`);
      assert.ok(r.json && typeof r.json === 'object');
      assert.match(String(r.headers['content-type']), /application\/json/);
      const q = await request(h.priv + `${p}?token=${tok}`);
      assert.equal(q.status, 200, `${p}?token=${tok} → ${q.status}`);
    }
    for (const [what, headers, query] of [
      ['missing', {}, ''],
      ['wrong bearer', { Authorization: 'Bearer nope' }, ''],
      ['prefix of a token', { Authorization: 'Bearer tok-on' }, ''],
      ['token plus suffix', { Authorization: 'Bearer tok-onex' }, ''],
      ['not Bearer', { Authorization: 'Basic dG9rLW9uZTp4' }, ''],
      ['empty bearer', { Authorization: 'Bearer ' }, ''],
      ['wrong query', {}, '?token=nope'],
      ['empty query', {}, '?token='],
    ]) {
      const r = await request(h.priv + p + query, { headers });
      assert.equal(r.status, 401, `${p} ${what} → ${r.status} ${r.text}`);
      if (p === '/connections') {
        // An es-web endpoint: the reason as text/plain, as the original (issue 10.2).
        assert.equal(r.text, 'Missing or wrong token', `401 has a text body: ${r.text}`);
      } else {
        assert.ok(r.json && typeof r.json.error === 'string', `401 has a JSON error body: ${r.text}`);
      }
    }
  }
  // Publishing needs the token too.
  const ev = { ep: ['x'], e: { type: 'nope' } };
  assert.equal((await publish(h, ev, { token: null })).status, 401);
  assert.equal((await publish(h, ev, { token: 'nope' })).status, 401);
  assert.equal((await request(h.priv + '/event?token=tok-two', { method: 'POST', body: ev })).status, 200);
  await by.check('401s');
});

htest('private API: unknown path → 404, with a valid token', async () => {
  const h = await startHerald();
  const r = await request(h.priv + '/nope', { headers: { Authorization: `Bearer ${h.token}` } });
  assert.equal(r.status, 404, `${r.status} ${r.text}`);
});

htest('private auth: tokens from the config file', async () => {
  const h = await startHerald({ tokens: [], config: { tokens: ['cfg-token'] } });
  h.token = 'cfg-token';
  assert.equal((await request(h.priv + '/state', { headers: { Authorization: 'Bearer cfg-token' } })).status, 200);
  assert.equal((await request(h.priv + '/state')).status, 401);
});

htest('private auth: with no token configured, loopback clients are served', async () => {
  const h = await startHerald({ tokens: [] });
  const r = await request(h.priv + '/state');
  assert.equal(r.status, 200, `${r.status} ${r.text}`);
  assert.match(h.stdout + h.stderr, /loopback/i, 'the start-up log says only loopback clients are served');
});

htest('compat.public_private_api=true: private handlers on the public port, behind the token', async () => {
  const h = await startHerald({ config: { compat: { public_private_api: true } } });
  const by = await bystander(h);
  for (const p of PATHS) {
    const ok = await request(h.pub + p, { headers: { Authorization: `Bearer ${h.token}` } });
    assert.equal(ok.status, 200, `public ${p} with token → ${ok.status}`);
    assert.ok(ok.json && typeof ok.json === 'object');
    assert.equal((await request(h.pub + `${p}?token=${h.token}`)).status, 200, `public ${p}?token=`);
    assert.equal((await request(h.pub + p)).status, 401, `public ${p} without token`);
    assert.equal((await request(h.pub + p, { headers: { Authorization: 'Bearer nope' } })).status, 401, `public ${p} wrong token`);
  }
  // Publishing through the public port reaches subscribers.
  const s = await connect(h, { ep: ['compat/t'] });
  const t = uid('compat');
  const r = await publish(h, { ep: ['compat/t'], e: { type: t, detail: 1 } }, { base: h.pub });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual((await s.next(t)).e, { type: t, detail: 1 });
  assert.equal((await publish(h, { ep: ['compat/t'], e: { type: t } }, { base: h.pub, token: null })).status, 401);
  // Same answers on both ports.
  const a = await h.connections();
  const b = (await request(h.pub + '/connections', { headers: { Authorization: `Bearer ${h.token}` } })).json;
  assert.deepEqual(a, b);
  // The private port still works.
  assert.equal((await h.state()).connections.total, 2);
  await by.check('compat');
});

htest('compat.public_private_api=false (default): private paths are 404 on the public port', async () => {
  const h = await startHerald();
  for (const p of [...PATHS, '/event']) {
    for (const method of ['GET', 'POST']) {
      const r = await request(h.pub + p, {
        method,
        headers: { Authorization: `Bearer ${h.token}` },
        body: method === 'POST' ? { ep: ['x'], e: { type: 'x' } } : undefined,
      });
      assert.equal(r.status, 404, `${method} public ${p} → ${r.status} ${r.text}`);
    }
  }
});

// The private API runs inside the worker loops: a client that stalls halfway
// through a request, or sends garbage, must hold up neither publishing, nor
// the answers that need every worker (/state, /connections), nor streams.
htest('private API: stalled and garbage clients hold up no publish, no gathered answer, no stream', async () => {
  const h = await startHerald({ workers: 2 });
  const by = await bystander(h);
  const topic = uid('stall');
  const sub = await connect(h, { ep: [topic] }, { label: 'sub' });
  const socks = [];
  const open = (payload) => new Promise((resolve, reject) => {
    const s = net.connect(h.privPort, '127.0.0.1', () => { s.write(payload); resolve(s); });
    s.on('error', reject);
    socks.push(s);
  });
  for (let i = 0; i < 20; i++) {
    // Half a request line, half the headers, a body shorter than announced, junk.
    await open(['POST /ev', 'POST /event HTTP/1.1\r\nHost: x\r\nAuthorization: Bea',
      'POST /event HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{"ep":',
      '\x00\x01\x02 not http at all\r\n\r\n'][i % 4]);
  }
  await delay(100);
  for (let i = 0; i < 50; i++) await publishOk(h, topic, 'tick', { n: i });
  await sub.next((f) => f.e && f.e.type === 'tick' && f.e.detail.n === 49, 5000);
  assert.equal(sub.all('tick').length, 50);
  // Answers gathered from both workers, many at once.
  const states = await Promise.all(Array.from({ length: 20 }, () => h.state()));
  for (const st of states) assert.equal(st.connections.total, 2);
  const conns = await h.connections();
  assert.ok(conns && typeof conns === 'object');
  await by.check('stalled private clients');
  for (const s of socks) s.destroy();
  // A publish right after the stalled clients leave still works.
  await publishOk(h, topic, 'after', {});
  await sub.next('after', 5000);
});

// Shutting down while answers that need every worker are in flight: each
// gets its answer or its connection closed, and herald exits cleanly.
htest('private API: SIGTERM during a storm of gathered requests exits 0', async () => {
  const h = await startHerald({ workers: 2 });
  const inflight = Array.from({ length: 40 }, (_, i) =>
    request(h.priv + (i % 2 ? '/state' : '/connections?details=true'),
      { headers: { Authorization: `Bearer ${h.token}` } }).catch((e) => ({ error: e.message })));
  await delay(5);
  assert.equal(await h.stop('SIGTERM'), 0);
  const results = await Promise.all(inflight);
  for (const r of results) {
    if (r.error) continue;  // closed by the shutdown
    assert.ok([200, 503].includes(r.status), `status ${r.status}: ${r.text}`);
  }
});

// Issue 11.6: errors map to HTTP in one place (HttpResponse::FromStatus), so
// every 401 carries the challenge RFC 9110 15.5.2 requires; before, only
// /ticket and /authenticate sent one, the private API's token check and the
// publisher-JWT check did not.
htest('private auth: every 401 carries WWW-Authenticate: Bearer', async () => {
  const h = await startHerald({
    config: { compat: { public_private_api: true } },
    extraArgs: ['--jwt-hs256-secret', 'a-secret-of-at-least-32-bytes-for-hs256'],
  });
  const ev = { ep: ['challenge/t'], e: { type: 't' } };
  const refusals = [
    ['private /state, no token', await request(h.priv + '/state')],
    ['private /connections, wrong token', await request(h.priv + '/connections', { headers: { Authorization: 'Bearer nope' } })],
    ['public /state (compat), no token', await request(h.pub + '/state')],
    ['publish, bad JWT', await publish(h, ev, { token: 'not.a.jwt' })],
    ['/ticket, no token', await request(h.pub + '/ticket', { method: 'POST' })],
  ];
  for (const [what, r] of refusals) {
    assert.equal(r.status, 401, `${what} → ${r.status} ${r.text}`);
    assert.equal(r.headers['www-authenticate'], 'Bearer', `${what}: challenge`);
  }
  const ok = await request(h.priv + '/state', { headers: { Authorization: `Bearer ${h.token}` } });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers['www-authenticate'], undefined, 'no challenge on success');
});
