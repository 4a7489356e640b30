// ''0'' heartbeats and the hard stream timeout.
import assert from 'node:assert/strict';
import { htest, startHerald, publishOk, waitFor } from './lib/herald.mjs';
import { connect } from './lib/esweb_client.mjs';

htest("heartbeat: ''0'' every stream.heartbeat_ms", async () => {
  const h = await startHerald({ config: { stream: { heartbeat_ms: 200 } } });
  const s = await connect(h, { ep: ['hb'] });
  const t0 = Date.now();
  await waitFor(() => s.heartbeats >= 3, { timeout: 5000, what: '3 heartbeats at 200 ms' });
  assert.ok(Date.now() - t0 < 5000);
  // Heartbeats are not frames, and events still flow between them.
  await publishOk(h, 'hb', 'between');
  await s.next('between');
  const n = s.heartbeats;
  await waitFor(() => s.heartbeats >= n + 2, { timeout: 5000, what: 'heartbeats keep coming' });
  assert.equal(s.frames.length, 2, 'only connected + one event frame');
  assert.equal(s.isEnded, false);
});

htest('timeout: after stream.timeout_ms the server sends disconnect/timeout and ends the response cleanly', async () => {
  const h = await startHerald({ config: { stream: { timeout_ms: 800 } } });
  const s = await connect(h, { ep: ['to'] });
  assert.equal(s.detail.timeout, 800);
  const t0 = Date.now();
  const f = await s.next((x) => x.ep.requested === '@SERVER@', 5000);
  assert.deepEqual(f.ep, { requested: '@SERVER@', emitted: '@SERVER@' });
  assert.equal(f.e.type, 'disconnect');
  assert.equal(f.e.detail.reason, 'timeout');
  const end = await s.ended;
  assert.equal(end.complete, true, 'chunked terminator received (response ended cleanly)');
  assert.ok(Date.now() - t0 < 5000, 'configured 800 ms timeout ends within 5 s');
  await waitFor(async () => {
    const st = await h.state();
    return st.closed.timeout >= 1 && st.connections.total === 0;
  }, { what: '/state closed.timeout = 1, total = 0' });
});

htest('timeout: events delivered before the timeout do not extend it', async () => {
  // es-web semantics: only /alive restarts the timeout, not traffic.
  const h = await startHerald({ config: { stream: { timeout_ms: 1000 } } });
  const s = await connect(h, { ep: ['to'] });
  const t0 = Date.now();
  let n = 0;
  for (let i = 0; i < 200 && !s.isEnded && Date.now() - t0 < 8000; i++) {
    await publishOk(h, 'to', 'tick');
    n += 1;
    await new Promise((r) => setTimeout(r, 50));
  }
  const end = await s.ended;
  assert.equal(end.complete, true);
  assert.ok(Date.now() - t0 < 8000, 'a 1 s timeout ends the stream within 8 s despite traffic');
  assert.ok(n >= 1);
  const last = s.frames[s.frames.length - 1];
  assert.equal(last.e.type, 'disconnect');
  assert.equal(last.e.detail.reason, 'timeout');
});
