// JWT space connections on the es-web stream (POST / with space/channels),
// curl-level: Bearer admits, a missing space grant is a 401, the token's exp
// ends a live stream with `disconnect` `unauthorized`, join/leave stay inside the space.
import assert from 'node:assert/strict';
import { htest, startHerald, publishOk, request, uid } from './lib/herald.mjs';
import { connect, subscribe } from './lib/esweb_client.mjs';
import { mint, claims } from './lib/jwt.mjs';

const SECRET = 'st-secret-0123456789abcdef0123456789';
const bearer = (t) => ({ headers: { Authorization: `Bearer ${t}` } });

htest('auth stream: Bearer admits the space; join/leave inside it; 401 outside', async () => {
  const h = await startHerald({ extraArgs: ['--jwt-hs256-secret', SECRET] });
  const space = uid('sp');
  const s = await connect(h, { ep: [], space, channels: ['a'] }, bearer(mint('HS256', SECRET, claims({ spaces: [space] }))));
  await publishOk(h, { space, channel: 'a' }, 'in-a');
  await s.next('in-a');
  const { connid, secret } = s.detail;
  const j = await request(h.pub + '/join', { method: 'POST', body: { connid, secret, channel: 'b' } });
  assert.deepEqual(j.json, { connid, topic: `$space/${space}/b` });
  await s.next('joined_room');
  await publishOk(h, { space, channel: 'b' }, 'in-b');
  await s.next('in-b');
  const l = await request(h.pub + '/leave', { method: 'POST', body: { connid, secret, channel: 'b' } });
  assert.equal(l.status, 200, l.text);
  await s.next('leaved_room');

  // Outside the space: a plain topic by /join, or mixed in at connect.
  const out = await request(h.pub + '/join', { method: 'POST', body: { connid, secret, topic: 'elsewhere/x' } });
  assert.equal(out.status, 403, out.text);
  const mixed = subscribe(h, { ep: ['elsewhere/x'], space, channels: ['a'] }, bearer(mint('HS256', SECRET, claims({ spaces: [space] }))));
  assert.equal((await mixed.response).status, 403);

  const other = subscribe(h, { ep: [], space: 'not-mine', channels: ['a'] }, bearer(mint('HS256', SECRET, claims({ spaces: [space] }))));
  const r = await other.response;
  assert.equal(r.status, 401);
});

htest('auth stream: the token expires during a live stream → disconnect unauthorized', async () => {
  const h = await startHerald({ extraArgs: ['--jwt-hs256-secret', SECRET], config: { auth: { jwt_leeway_s: 0, expiring_notice_s: 0 } } });
  const space = uid('sp');
  const s = await connect(h, { ep: [], space, channels: ['a'] }, bearer(mint('HS256', SECRET, claims({ spaces: [space] }, 2))));
  await publishOk(h, { space, channel: 'a' }, 'before');
  await s.next('before');
  const d = await s.next('disconnect', 6000);
  assert.equal(d.e.detail.reason, 'unauthorized');
  await s.ended;
}, { timeout: 20000 });
