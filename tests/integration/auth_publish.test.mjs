// Publisher JWTs on POST /event: the `publish` claim lists the topic filters
// a publisher may use; outside them 403. Static tokens keep working.
import assert from 'node:assert/strict';
import { htest, startHerald, publish, uid } from './lib/herald.mjs';
import { mint, claims } from './lib/jwt.mjs';

const SECRET = 'pub-secret-0123456789abcdef0123456789';
const body = (topic) => ({ ep: [topic], e: { type: 't', detail: null } });

htest('auth: publisher JWT publish claim → 200 inside, 403 outside', async () => {
  const h = await startHerald({ extraArgs: ['--jwt-hs256-secret', SECRET] });
  const news = uid('news');
  const jwt = mint('HS256', SECRET, claims({ publish: [`${news}/#`] }));
  const ok = await publish(h, body(`${news}/sport`), { token: jwt });
  assert.equal(ok.status, 200, ok.text);
  const out = await publish(h, body('elsewhere/x'), { token: jwt });
  assert.equal(out.status, 403, out.text);
  assert.match(out.text, /Not allowed to publish to elsewhere\/x/);
  const wild = await publish(h, body('+'), { token: jwt });
  assert.equal(wild.status, 403, wild.text);
  const noclaim = await publish(h, body(`${news}/a`), { token: mint('HS256', SECRET, claims()) });
  assert.equal(noclaim.status, 403, noclaim.text);
  const bad = await publish(h, body(`${news}/a`), { token: mint('HS256', 'nope', claims({ publish: ['#'] })) });
  assert.equal(bad.status, 401, bad.text);
  const basic = await publish(h, body(`${news}/a`), { token: null, headers: { Authorization: 'Basic eDp5' } });
  assert.equal(basic.status, 401, basic.text);
  const stat = await publish(h, body('any/topic'));
  assert.equal(stat.status, 200, stat.text);
});

htest('auth: publisher JWTs work the same on the public port in compat mode', async () => {
  const h = await startHerald({
    config: { compat: { public_private_api: true } },
    extraArgs: ['--jwt-hs256-secret', SECRET],
  });
  const news = uid('news');
  const jwt = mint('HS256', SECRET, claims({ publish: [`${news}/#`] }));
  const ok = await publish(h, body(`${news}/a`), { token: jwt, base: h.pub });
  assert.equal(ok.status, 200, ok.text);
  const out = await publish(h, body('elsewhere/x'), { token: jwt, base: h.pub });
  assert.equal(out.status, 403, out.text);
  const bad = await publish(h, body(`${news}/a`), { token: 'not-a-token', base: h.pub });
  assert.equal(bad.status, 401, bad.text);
  const none = await publish(h, body(`${news}/a`), { token: null, base: h.pub });
  assert.equal(none.status, 401, none.text);
  const stat = await publish(h, body('any/topic'), { base: h.pub });
  assert.equal(stat.status, 200, stat.text);
});
