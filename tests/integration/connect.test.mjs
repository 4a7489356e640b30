// POST / → the @SERVER@ connected frame, stream headers, CORS, OPTIONS preflight.
import assert from 'node:assert/strict';
import { htest, startHerald, request, SECRET_RE } from './lib/herald.mjs';
import { subscribe, connect } from './lib/esweb_client.mjs';

function norm(v) {
  return String(v).replace(/\s+/g, '').toLowerCase();
}

htest('connect: first frame is @SERVER@ connected with connid, secret, timeout', async () => {
  const h = await startHerald();
  const before = Date.now();
  const s = subscribe(h, { clid: 'alice', ep: ['house/kitchen/temp'] });
  const detail = await s.connected;
  const after = Date.now();
  const f = s.frames[0];

  assert.deepEqual(f.ep, { requested: '@SERVER@', emitted: '@SERVER@' });
  assert.equal(f.e.type, 'connected');
  assert.ok(Number.isInteger(f.iat), `iat is an integer: ${f.iat}`);
  assert.ok(f.iat >= before - 5000 && f.iat <= after + 5000, `iat ${f.iat} is ms since epoch near now`);

  assert.deepEqual(Object.keys(detail).sort(), ['connid', 'cursor', 'secret', 'timeout']);
  assert.ok(Number.isSafeInteger(detail.connid) && detail.connid >= 0, `connid integer < 2^53: ${detail.connid}`);
  assert.ok(detail.connid < 2 ** 53);
  assert.match(detail.secret, SECRET_RE, 'secret is 22 base64url chars');
  assert.equal(Buffer.from(detail.secret, 'base64url').length, 16, 'secret carries 128 bits');
  assert.equal(detail.timeout, 60000, 'default stream.timeout_ms');

  // Two connections never share a connid or a secret.
  const s2 = await connect(h, { ep: ['x'] });
  assert.notEqual(s2.detail.connid, detail.connid);
  assert.notEqual(s2.detail.secret, detail.secret);
});

htest('connect: stream response headers and chunked body', async () => {
  const h = await startHerald();
  const s = await connect(h, { ep: ['a/b'] });
  assert.equal(s.status, 200);
  const hd = s.headers;
  assert.equal(norm(hd['content-type']), 'text/plain;charset=utf-8');
  assert.equal(hd['x-content-type-options'], 'nosniff');
  assert.equal(norm(hd['cache-control']), norm('no-cache, no-store, max-age=0, must-revalidate'));
  assert.equal(hd.pragma, 'no-cache');
  assert.equal(hd['x-accel-buffering'], 'no');
  assert.equal(hd['access-control-allow-origin'], '*');
  assert.equal(norm(hd['transfer-encoding']), 'chunked');
  assert.equal(hd['content-length'], undefined);
});

htest('connect: an empty ep list, object filters and binded flags are accepted', async () => {
  const h = await startHerald();
  const b = await connect(h, { ep: [] });
  assert.ok(Number.isSafeInteger(b.detail.connid));
  const c = await connect(h, { clid: 'c', ep: [{ topic: 'obj/topic' }, { topic: 'bound/topic', binded: true }, 'plain'] });
  assert.ok(Number.isSafeInteger(c.detail.connid));
});

htest('connect: stream.timeout_ms from config is announced in connected', async () => {
  const h = await startHerald({ config: { stream: { timeout_ms: 12345 } } });
  const s = await connect(h, { ep: ['t'] });
  assert.equal(s.detail.timeout, 12345);
});

htest('CORS: OPTIONS preflight on any path answers 204 with CORS headers', async () => {
  const h = await startHerald();
  for (const p of ['/', '/alive', '/no/such/path']) {
    const r = await request(h.pub + p, {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://app.example',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type',
      },
    });
    assert.equal(r.status, 204, `OPTIONS ${p} → ${r.status}`);
    assert.equal(r.headers['access-control-allow-origin'], '*', `ACAO on OPTIONS ${p}`);
    const methods = r.headers['access-control-allow-methods'];
    assert.ok(methods, `Access-Control-Allow-Methods on OPTIONS ${p}`);
    assert.ok(/POST/i.test(methods) || methods.trim() === '*', `allow-methods includes POST: ${methods}`);
    const allowH = r.headers['access-control-allow-headers'];
    assert.ok(allowH, `Access-Control-Allow-Headers on OPTIONS ${p}`);
    assert.ok(/content-type/i.test(allowH) || allowH.trim() === '*', `allow-headers includes Content-Type: ${allowH}`);
  }
});

htest('CORS: Access-Control-Allow-Origin on errors and control answers too', async () => {
  const h = await startHerald();
  const nf = await request(h.pub + '/no/such/path');
  assert.equal(nf.status, 404);
  assert.equal(nf.headers['access-control-allow-origin'], '*', '404 carries ACAO');
  const bad = await request(h.pub + '/', { method: 'POST', body: '{not json' });
  assert.equal(bad.status, 400);
  assert.equal(bad.headers['access-control-allow-origin'], '*', '400 carries ACAO');
  const s = await connect(h, { ep: ['t'] });
  const al = await request(h.pub + '/alive', { method: 'POST', body: { connid: s.detail.connid, secret: s.detail.secret } });
  assert.equal(al.status, 200);
  assert.equal(al.headers['access-control-allow-origin'], '*', '/alive carries ACAO');
});

htest('CORS: cors_origin from config', async () => {
  const h = await startHerald({ config: { cors_origin: 'https://app.example' } });
  const s = await connect(h, { ep: ['t'] });
  assert.equal(s.headers['access-control-allow-origin'], 'https://app.example');
  const r = await request(h.pub + '/', { method: 'OPTIONS' });
  assert.equal(r.status, 204);
  assert.equal(r.headers['access-control-allow-origin'], 'https://app.example');
});
