// SIGTERM (and SIGINT) with open streams: each gets disconnect/shutdown, its
// response ends cleanly, and the process exits 0.
import assert from 'node:assert/strict';
import { htest, startHerald, request } from './lib/herald.mjs';
import { connect } from './lib/esweb_client.mjs';

async function shutdownWithStreams(signal) {
  const h = await startHerald({ workers: 2 });
  const subs = [];
  for (let i = 0; i < 8; i++) subs.push(await connect(h, { clid: `s${i % 2}`, ep: ['sd/#', '@CONNECTION@/s0'] }, { label: `s${i}` }));
  const d = await h.connections('clid=s0&details=true');
  const d1 = await h.connections('clid=s1&details=true');
  const workers = new Set([...d.connections, ...d1.connections].map((c) => c.worker));

  const t0 = Date.now();
  const code = h.stop(signal);
  for (const s of subs) {
    const f = await s.next((x) => x.ep.requested === '@SERVER@', 5000);
    assert.equal(f.e.type, 'disconnect', `${s.label}: ${JSON.stringify(f)}`);
    assert.equal(f.e.detail.reason, 'shutdown');
    const end = await s.ended;
    assert.equal(end.complete, true, `${s.label}: response ended with the chunked terminator`);
  }
  const exit = await Promise.race([code, new Promise((r) => setTimeout(() => r('still running after 10 s'), 10000))]);
  assert.equal(exit, 0, `exit status after ${signal}`);
  assert.ok(Date.now() - t0 < 10000);
  // After shutdown nothing listens any more.
  await assert.rejects(request(h.pub + '/', { method: 'OPTIONS', timeoutMs: 2000 }));
  return workers;
}

htest('SIGTERM with open streams on both workers: disconnect/shutdown, clean end, exit 0', async () => {
  await shutdownWithStreams('SIGTERM');
});

htest('SIGINT behaves like SIGTERM', async () => {
  await shutdownWithStreams('SIGINT');
});

htest('SIGTERM with no streams exits 0 promptly', async () => {
  const h = await startHerald();
  const exit = await Promise.race([h.stop('SIGTERM'), new Promise((r) => setTimeout(() => r('still running after 5 s'), 5000))]);
  assert.equal(exit, 0);
});
