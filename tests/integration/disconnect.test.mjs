// POST /disconnect (private): server-initiated disconnect by connid, clid,
// space or user; the client sees `disconnect` with the reason.
import assert from 'node:assert/strict';
import { htest, startHerald, request, assertError, delay, uid } from './lib/herald.mjs';
import { connect } from './lib/esweb_client.mjs';
import { sseOpen } from './lib/sse_client.mjs';
import { poll, pollStart } from './lib/poll_client.mjs';

function kick(h, body, { token = h.token } = {}) {
  return request(h.priv + '/disconnect', {
    method: 'POST', headers: token ? { Authorization: `Bearer ${token}` } : {}, body,
  });
}

async function kickOk(h, body, closed) {
  const r = await kick(h, body);
  assert.equal(r.status, 200, `disconnect ${JSON.stringify(body)} → ${r.status} ${r.text}`);
  assert.deepEqual(r.json, { closed });
}

htest('disconnect: by connid (stream) with the default reason; counted as kicked', async () => {
  const h = await startHerald();
  const a = await connect(h, { ep: ['k/a'] }, { label: 'a' });
  const b = await connect(h, { ep: ['k/a'] }, { label: 'b' });
  await kickOk(h, { connid: a.detail.connid }, 1);
  const f = await a.next('disconnect');
  assert.deepEqual(f.e.detail, { reason: 'kicked', connid: a.detail.connid, secret: a.detail.secret, timeout: a.detail.timeout });
  await a.ended;
  assert.equal(b.isEnded, false);
  const st = await h.state();
  assert.equal(st.closed.kicked, 1);
  assert.equal(st.connections.total, 1);
});

htest('disconnect: by clid on every worker, with a custom reason', async () => {
  const h = await startHerald({ workers: 2 });
  const clid = uid('kc');
  const subs = [];
  for (let i = 0; i < 6; i++) subs.push(await connect(h, { clid, ep: ['k/b'] }, { label: `s${i}` }));
  const other = await connect(h, { clid: 'someone-else', ep: ['k/b'] }, { label: 'other' });
  await kickOk(h, { clid, reason: 'banned by moderator' }, 6);
  for (const s of subs) {
    const f = await s.next('disconnect');
    assert.equal(f.e.detail.reason, 'banned by moderator');
    assert.equal(f.e.detail.connid, s.detail.connid, 'the es-web frame carries the connection (issue 10.2)');
    await s.ended;
  }
  assert.equal(other.isEnded, false);
  assert.equal((await h.state()).closed.kicked, 6);
});

htest('disconnect: by space (SSE), the reason arrives as event: disconnect', async () => {
  const h = await startHerald();
  const space = uid('sp');
  const s = await sseOpen(h, { space, channel: 'c' });
  const t = await sseOpen(h, { topic: 'k/sse' });
  await kickOk(h, { space, reason: 'maintenance' }, 1);
  const d = await s.next({ event: 'disconnect' }, 5000);
  assert.deepEqual(d.json.e.detail, { reason: 'maintenance' });
  await s.ended;
  await kickOk(h, { connid: t.detail.connid }, 1);
  assert.deepEqual((await t.next({ event: 'disconnect' }, 5000)).json.e.detail, { reason: 'kicked' });
});

htest('disconnect: a held poll gets the disconnect entry; the session is gone', async () => {
  const h = await startHerald();
  const first = await pollStart(h, { topic: 'k/poll' });
  const held = poll(h, { connid: first.connid, secret: first.secret, since: first.cursor, timeout: 10000 });
  await delay(200);
  await kickOk(h, { connid: first.connid, reason: 'bye' }, 1);
  const r = await held;
  assert.equal(r.status, 200, r.text);
  const last = r.json.events[r.json.events.length - 1];
  assert.deepEqual(last.e, { type: 'disconnect', detail: { reason: 'bye' } });
  assert.equal((await h.state()).connections.total, 0);
});

htest('disconnect: none matched → {"closed":0}; user selector matches only bound users', async () => {
  const h = await startHerald();
  const s = await connect(h, { clid: 'c1', ep: ['k/none'] });
  await kickOk(h, { connid: 999999 }, 0);
  await kickOk(h, { clid: 'nobody' }, 0);
  await kickOk(h, { space: 'nowhere' }, 0);
  await kickOk(h, { user: 'alice' }, 0);
  assert.equal(s.isEnded, false);
});

htest('disconnect: bad shapes → 400; the private token is required', async () => {
  const h = await startHerald();
  const cases = [
    [{}, 'Give exactly one of connid, user, clid, space'],
    [{ reason: 'x' }, 'Give exactly one of connid, user, clid, space'],
    [{ clid: 'a', space: 'b' }, 'Give exactly one of connid, user, clid, space'],
    [{ nick: 'a' }, 'Unknown field: nick'],
    [{ connid: 'x' }, 'connid should be a connection id'],
    [{ connid: 0 }, 'connid should be a connection id'],
    [{ clid: '' }, 'clid should be a non-empty string'],
    [{ user: 5 }, 'user should be a non-empty string'],
    [{ clid: 'a', reason: '' }, /^reason should be/],
    [{ clid: 'a', reason: 'x'.repeat(65) }, /^reason should be/],
    [{ clid: 'a', reason: 'new\nline' }, /^reason should be/],
    [{ clid: 'a', reason: 7 }, /^reason should be/],
    ['not json', 'Invalid JSON in body'],
    [[1], 'Invalid JSON in body'],
  ];
  for (const [body, reason] of cases) {
    assertError(await kick(h, body), 400, reason, JSON.stringify(body), { phrase: false });
  }
  const r = await kick(h, { clid: 'a' }, { token: null });
  assert.equal(r.status, 401, r.text);
});
