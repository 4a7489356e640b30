// JWT space sessions on /poll: Bearer or ticket admits, a bad token or a space
// outside the token is a 401, and a session without a token gets no events.
import assert from 'node:assert/strict';
import { htest, startHerald, publishOk, request, uid } from './lib/herald.mjs';
import { mint, claims } from './lib/jwt.mjs';

const SECRET = 'po-secret-0123456789abcdef0123456789';
const q = (o) => new URLSearchParams(o).toString();

htest('auth poll: Bearer admits, ticket admits once, wrong space and bad token refused', async () => {
  const h = await startHerald({ extraArgs: ['--jwt-hs256-secret', SECRET] });
  const space = uid('sp');
  const token = mint('HS256', SECRET, claims({ spaces: [space] }));
  const auth = { Authorization: `Bearer ${token}` };
  const first = await request(`${h.pub}/poll?${q({ space, channel: 'c' })}`, { headers: auth });
  assert.equal(first.status, 200, first.text);
  await publishOk(h, { space, channel: 'c' }, 'polled');
  const next = await request(`${h.pub}/poll?${q({ connid: first.json.connid, secret: first.json.secret, since: first.json.cursor, timeout: 3000 })}`);
  assert.equal(next.status, 200, next.text);
  assert.ok(next.json.events.some((e) => e.e.type === 'polled'), next.text);

  const wrong = await request(`${h.pub}/poll?${q({ space: 'other', channel: 'c' })}`, { headers: auth });
  assert.equal(wrong.status, 401, wrong.text);
  const bad = await request(`${h.pub}/poll?${q({ space, channel: 'c' })}`, { headers: { Authorization: 'Bearer x.y.z' } });
  assert.equal(bad.status, 401, bad.text);

  const t = await request(`${h.pub}/ticket`, { method: 'POST', headers: auth });
  const viaTicket = await request(`${h.pub}/poll?${q({ space, channel: 'c', ticket: t.json.ticket })}`);
  assert.equal(viaTicket.status, 200, viaTicket.text);
  const again = await request(`${h.pub}/poll?${q({ space, channel: 'c', ticket: t.json.ticket })}`);
  assert.equal(again.status, 401, again.text);
});
