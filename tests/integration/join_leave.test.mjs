// POST /join and /leave on every transport: filters change at runtime, the
// connection gets joined_room / leaved_room, errors have reasons.
import assert from 'node:assert/strict';
import { htest, startHerald, publishOk, request, assertError, uid } from './lib/herald.mjs';
import { connect, barrier } from './lib/esweb_client.mjs';
import { sseOpen } from './lib/sse_client.mjs';
import { poll, pollStart } from './lib/poll_client.mjs';

const join = (h, body) => request(h.pub + '/join', { method: 'POST', body });
const leave = (h, body) => request(h.pub + '/leave', { method: 'POST', body });

htest('join/leave: es-web stream', async () => {
  const h = await startHerald();
  const home = `j/${uid('home')}`;
  const room = `j/${uid('room')}`;
  const s = await connect(h, { ep: [home] });
  const { connid, secret } = s.detail;
  const r = await join(h, { connid, secret, topic: room });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { connid, topic: room });
  const j = await s.next('joined_room');
  assert.deepEqual(j.e.detail, { topic: room });
  assert.deepEqual(j.ep, { requested: '@SERVER@', emitted: '@SERVER@' });
  await publishOk(h, room, 'in-room');
  await s.next('in-room');
  assert.equal((await h.state()).filters, 2);

  const l = await leave(h, { connid, secret, topic: room });
  assert.equal(l.status, 200, l.text);
  assert.deepEqual((await s.next('leaved_room')).e.detail, { topic: room });
  await publishOk(h, room, 'after-leave');
  await barrier(h, [s], home);
  assert.equal(s.all('after-leave').length, 0);
  assert.equal((await h.state()).filters, 1);
  assertError(await leave(h, { connid, secret, topic: room }), 400, 'Not joined');
});

htest('join/leave: SSE with the space form (channel)', async () => {
  const h = await startHerald();
  const space = uid('sp');
  const s = await sseOpen(h, { space, channel: 'notifications' });
  const { connid, secret } = s.detail;
  const r = await join(h, { connid, secret, channel: 'alerts' });
  assert.deepEqual(r.json, { connid, topic: `$space/${space}/alerts` });
  const j = await s.next({ event: 'joined_room' });
  assert.deepEqual(j.json.e.detail, { channel: 'alerts' });
  await publishOk(h, { space, channel: 'alerts' }, 'alert');
  assert.equal((await s.next('alert')).json.ep.requested, `$space/${space}/alerts`);
  await leave(h, { connid, secret, channel: 'alerts' });
  assert.deepEqual((await s.next({ event: 'leaved_room' })).json.e.detail, { channel: 'alerts' });
  await publishOk(h, { space, channel: 'alerts' }, 'gone');
  await publishOk(h, { space, channel: 'notifications' }, 'still');
  await s.next('still');
  assert.equal(s.messages().filter((e) => e.json.e.type === 'gone').length, 0);
});

htest('join/leave: poll session — joined_room and the joined topic come in the next answers', async () => {
  const h = await startHerald({ workers: 3 });
  const room = `j/${uid('room')}`;
  const s = await pollStart(h, { topic: `j/${uid('home')}` });
  const held = poll(h, { connid: s.connid, secret: s.secret, since: s.cursor, timeout: 10000 });
  await new Promise((r) => setTimeout(r, 100));
  const r = await join(h, { connid: s.connid, secret: s.secret, topic: room });
  assert.equal(r.status, 200, r.text);
  const a1 = await held;
  assert.deepEqual(a1.json.events.map((e) => e.e.type), ['joined_room']);
  const ev = await publishOk(h, room, 'in-room');
  const a2 = await poll(h, { connid: s.connid, secret: s.secret, since: a1.json.cursor, timeout: 5000 });
  assert.deepEqual(a2.json.events.map((e) => e.id), [ev.id]);
});

htest('join/leave: errors and limits.max_filters_per_connection', async () => {
  const h = await startHerald({ config: { limits: { max_filters_per_connection: 2 } } });
  const s = await connect(h, { ep: ['a'] });
  const { connid, secret } = s.detail;
  assert.equal((await join(h, { connid, secret, topic: 'b' })).status, 200);
  assert.equal((await join(h, { connid, secret, topic: 'b' })).status, 200, 'joining twice is harmless');
  assertError(await join(h, { connid, secret, topic: 'c' }), 400, /^Too many event points/);
  assertError(await join(h, { connid, secret: 'x', topic: 'c' }), 400, 'Invalid data');
  assertError(await join(h, { connid: connid + 1000000, secret, topic: 'c' }), 400, 'Invalid data');
  assertError(await join(h, { connid, secret }), 400, 'Either topic or channel is required');
  assertError(await join(h, { connid, secret, topic: 'a', channel: 'b' }), 400, 'Either topic or channel is required');
  assertError(await join(h, { connid, secret, topic: 5 }), 400, 'Topic should be a string');
  assertError(await join(h, { connid, secret, channel: 'x' }), 400, 'Not a space connection');
  assertError(await leave(h, { connid, secret, topic: '#/b' }), 400, /^Invalid topic/);
  assertError(await request(h.pub + '/join', { method: 'POST', body: 'nope' }), 400, 'Invalid object');
  assertError(await request(h.pub + '/join'), 400, 'Method is not POST');
  assert.equal(s.isEnded, false);
});
