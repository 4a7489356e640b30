// Issue 9 A.6: auth.jwt_leeway_s applies at connect as documented. A token
// 10 s past `exp` with a 12 s leeway is accepted (Bearer on SSE and poll, a
// ticket, POST /authenticate), its connection gets events, `auth_expiring`
// goes out at once (exp is past), and the connection closes as
// `unauthorized` at exp + leeway, not before.
import assert from 'node:assert/strict';
import { htest, startHerald, publishOk, request, uid } from './lib/herald.mjs';
import { sseConnect, sseOpen } from './lib/sse_client.mjs';
import { mint, claims, nowS } from './lib/jwt.mjs';

const SECRET = 'leeway-secret-0123456789abcdef0123456';
const LEEWAY_S = 12;
const bearer = (t) => ({ headers: { Authorization: `Bearer ${t}` } });

htest('auth leeway: a token 10 s past exp is accepted at connect; the stream closes at exp + leeway, after auth_expiring', async () => {
  const h = await startHerald({ config: { auth: { jwt_hs256_secret: SECRET, jwt_leeway_s: LEEWAY_S, expiring_notice_s: 5 } } });
  const space = uid('sp');
  const exp = nowS() - 10;
  const stale = mint('HS256', SECRET, { ...claims({ spaces: [space] }), exp });

  const s = await sseOpen(h, { space, channel: 'c' }, bearer(stale));
  await publishOk(h, { space, channel: 'c' }, 'within-leeway');
  await s.next('within-leeway');
  const poll = await request(`${h.pub}/poll?space=${space}&channel=c`, bearer(stale));
  assert.equal(poll.status, 200, poll.text);
  const ticket = await request(h.pub + '/ticket', { method: 'POST', ...bearer(stale) });
  assert.equal(ticket.status, 200, ticket.text);
  const viaTicket = await sseOpen(h, { space, channel: 'c', ticket: ticket.json.ticket });
  // POST /authenticate with the stale token: accepted as well.
  const pending = await sseOpen(h, { space, channel: 'c' });
  const auth = await request(h.pub + '/authenticate', {
    method: 'POST', body: { connid: pending.detail.connid, secret: pending.detail.secret, token: stale },
  });
  assert.equal(auth.status, 200, auth.text);

  for (const c of [s, viaTicket, pending]) {
    const notice = await c.next({ event: 'auth_expiring' }, 3000);
    assert.equal(notice.json.e.detail.exp, exp);
    const d = await c.next({ event: 'disconnect' }, (LEEWAY_S + 5) * 1000);
    assert.equal(d.json.e.detail.reason, 'unauthorized');
    assert.ok(Date.now() / 1000 >= exp + LEEWAY_S, `closed at exp + leeway, not before (${Date.now() / 1000 - exp} s after exp)`);
  }
  // Past exp + leeway the same token is refused.
  const late = sseConnect(h, { space, channel: 'c' }, bearer(stale));
  assert.equal((await late.response).status, 401);
  await late.ended;
  assert.match(late.rawText, /token expired/);
}, { timeout: 30000 });
