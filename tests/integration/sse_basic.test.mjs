// GET /sse: headers, retry, connected, application and control events, the
// query forms, heartbeats, timeouts, errors, and the WHATWG parser itself.
import assert from 'node:assert/strict';
import { htest, startHerald, publishOk, request, assertError, uid, ID_RE, SECRET_RE, waitFor } from './lib/herald.mjs';
import { sseConnect, sseOpen, createSseParser } from './lib/sse_client.mjs';

htest('sse parser: WHATWG field rules (CRLF/CR/LF, comments, colon space, multi-line data, id stickiness, retry)', async () => {
  const got = [];
  const comments = [];
  const retries = [];
  const p = createSseParser({ onEvent: (e) => got.push(e), onComment: (c) => comments.push(c), onRetry: (r) => retries.push(r) });
  p.feed('\ufeff: hello\r\nretry: 1500\r\nretry: x1\n\ndata: a\ndata:b\r\n\r');
  p.feed('\nid: 7\nevent: named\ndata\n\n');
  p.feed('data: after id\n\nid\ndata: no id\n\nfoo: ignored\ndata: x');
  p.feed('yz\r\rid: a\0b\ndata: nul id ignored\n\ndata: unfinished');
  p.end();
  assert.deepEqual(comments, [' hello']);
  assert.deepEqual(retries, [1500]);
  assert.deepEqual(got, [
    { type: 'message', data: 'a\nb', lastEventId: '' },
    { type: 'named', data: '', lastEventId: '7' },
    { type: 'message', data: 'after id', lastEventId: '7' },
    { type: 'message', data: 'no id', lastEventId: '' },
    { type: 'message', data: 'xyz', lastEventId: '' },
    { type: 'message', data: 'nul id ignored', lastEventId: '' },
  ]);
});

htest('sse: headers, retry, connected, then unnamed application events with id and the es-web JSON', async () => {
  const h = await startHerald({ config: { sse: { retry_ms: 2345 } } });
  const topic = `s/${uid('t')}`;
  const s = await sseOpen(h, { topic, clid: 'sse-basic' });
  assert.equal(s.status, 200);
  assert.equal(s.headers['content-type'], 'text/event-stream');
  assert.equal(s.headers['cache-control'], 'no-cache, no-transform');
  assert.equal(s.headers['x-accel-buffering'], 'no');
  assert.equal(s.headers['access-control-allow-origin'], '*');
  assert.equal(s.retry, 2345);
  assert.deepEqual(Object.keys(s.detail).sort(), ['connid', 'cursor', 'secret', 'timeout']);
  assert.ok(Number.isInteger(s.detail.connid) && s.detail.connid > 0);
  assert.match(s.detail.secret, SECRET_RE);
  assert.equal(s.detail.timeout, 0, 'no timeout by default');
  const c = s.events[0];
  assert.equal(c.type, 'connected');
  assert.equal(c.id, '', 'control events carry no id');
  assert.deepEqual(c.json.ep, { requested: '@SERVER@', emitted: '@SERVER@' });

  const pub = await publishOk(h, topic, 'hello', { n: 1, text: "it's ünïcode ✓" });
  const ev = await s.next('hello');
  assert.equal(ev.type, 'message');
  assert.match(ev.id, ID_RE);
  assert.equal(ev.id, pub.id);
  assert.deepEqual(ev.json, {
    id: pub.id, iat: ev.json.iat, ep: { requested: topic, emitted: topic },
    e: { type: 'hello', detail: { n: 1, text: "it's ünïcode ✓" } },
  });
  assert.ok(Number.isInteger(ev.json.iat));
  // The data line is one line of pure ASCII (checked by the client too).
  assert.ok(!ev.data.includes('\n'));
});

htest('sse: ep alias, repeated topics, wildcards (%2B), space+channel; counted by transport in /state and /connections', async () => {
  const h = await startHerald();
  const t1 = uid('a');
  const space = uid('sp');
  const s = await sseOpen(h, `ep=${t1}/x&topic=${t1}/%2B/z&space=${space}&channel=alerts&clid=sse-forms`);
  await publishOk(h, `${t1}/x`, 'one');
  await publishOk(h, `${t1}/y/z`, 'two');
  await publishOk(h, { space, channel: 'alerts' }, 'three');
  await publishOk(h, { space, channel: 'other' }, 'nope');
  await publishOk(h, `${t1}/x`, 'four');
  assert.equal((await s.next('one')).json.ep.requested, `${t1}/x`);
  assert.equal((await s.next('two')).json.ep.requested, `${t1}/+/z`);
  assert.equal((await s.next('three')).json.ep.emitted, `$space/${space}/alerts`);
  await s.next('four');
  assert.deepEqual(s.messages().map((e) => e.json.e.type), ['one', 'two', 'three', 'four']);

  const st = await h.state();
  assert.equal(st.connections.by_transport.sse, 1);
  assert.equal((await h.connections('clid=sse-forms'))['sse-forms'], 1);
  const d = await h.connections('clid=sse-forms&details=true');
  assert.equal(d.connections[0].transport, 'sse');
  assert.deepEqual(d.connections[0].filters.sort(), [`$space/${space}/alerts`, `${t1}/+/z`, `${t1}/x`].sort());
  s.close();
  await waitFor(async () => (await h.state()).connections.by_transport.sse === 0, { what: 'sse count back to 0' });
});

htest('sse: heartbeat comments every sse.heartbeat_ms', async () => {
  const h = await startHerald({ config: { sse: { heartbeat_ms: 100 } } });
  const s = await sseOpen(h, { topic: 'hb' });
  await waitFor(() => s.comments >= 3, { timeout: 5000, what: '3 heartbeats' });
  assert.equal(s.isEnded, false);
});

htest('sse: sse.timeout_ms ends the stream with disconnect timeout; /alive restarts it and rotates the secret', async () => {
  const h = await startHerald({ config: { sse: { timeout_ms: 800 } } });
  const s = await sseOpen(h, { topic: 'to' });
  assert.equal(s.detail.timeout, 800);
  const t0 = Date.now();
  const a = await request(h.pub + '/alive', { method: 'POST', body: { connid: s.detail.connid, secret: s.detail.secret } });
  assert.equal(a.status, 200, a.text);
  assert.equal(a.json.timeout, 800);
  assert.notEqual(a.json.secret, s.detail.secret);
  const d = await s.next({ event: 'disconnect' }, 5000);
  assert.deepEqual(d.json.e.detail, { reason: 'timeout' });
  await s.ended;
  assert.ok(Date.now() - t0 >= 700, 'ends after the restarted timeout, not before');
});

htest('sse: errors → 400 with reasons; nothing is left open', async () => {
  const h = await startHerald({ config: { limits: { max_filters_per_connection: 2 } } });
  const cases = [
    ['', 'Topic missing'],
    ['clid=x', 'Topic missing'],
    ['topic=%23/b', /^Invalid topic/],
    ['topic=a/%23/b', /^Invalid topic/],
    ['topic=a&topic=b&topic=c', /^Too many event points/],
    ['channel=c', 'Space missing'],
    ['space=s', 'Channel missing'],
    ['space=s/t&channel=c', 'Invalid space'],
    ['topic=a&clid=', 'Clid should not be empty'],
  ];
  for (const [q, reason] of cases) {
    assertError(await request(`${h.pub}/sse?${q}`), 400, reason, q);
  }
  assertError(await request(`${h.pub}/sse?topic=a`, { method: 'POST', body: '{}' }), 400, 'Method is not GET');
  assert.equal((await h.state()).connections.total, 0);
});

htest('sse: server shutdown sends disconnect shutdown', async () => {
  const h = await startHerald();
  const s = await sseOpen(h, { topic: 'sd' });
  const code = h.stop('SIGTERM');
  const d = await s.next({ event: 'disconnect' }, 5000);
  assert.deepEqual(d.json.e.detail, { reason: 'shutdown' });
  assert.equal(await code, 0);
});
