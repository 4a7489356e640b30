// A subscriber that stops reading is closed once its output buffer passes
// limits.max_output_buffer_bytes; a subscriber that reads gets everything.
import assert from 'node:assert/strict';
import net from 'node:net';
import { htest, startHerald, publishOk, waitFor, uid } from './lib/herald.mjs';
import { connect, barrier } from './lib/esweb_client.mjs';

// Opens a stream on a raw socket, waits for the connected frame, then stops
// reading (the socket is paused: the kernel buffers fill and the server's output
// buffer grows).
function stalledStream(h, topic) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ clid: 'slowpoke', ep: [topic] });
    const sock = net.connect(h.pubPort, '127.0.0.1');
    let got = '';
    const st = { sock, closed: false, bytes: 0 };
    st.closedP = new Promise((r) => sock.on('close', () => { st.closed = true; r(); }));
    sock.on('error', () => {});
    const timer = setTimeout(() => reject(new Error(`stalled stream: no connected frame: ${got.slice(0, 300)}`)), 5000);
    const onData = (d) => {
      st.bytes += d.length;
      got += d.toString('latin1');
      if (got.includes('"connected"')) {
        clearTimeout(timer);
        sock.removeListener('data', onData);
        sock.pause();
        resolve(st);
      }
    };
    sock.on('data', onData);
    sock.write(`POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  });
}

htest('slow subscriber: closed past max_output_buffer_bytes, counted in /state; a reader gets everything', async () => {
  // 1 MiB: room for a reader that lags a moment on a loaded machine (64
  // events), far below what a stalled reader piles up.
  const h = await startHerald({ workers: 2, config: { limits: { max_output_buffer_bytes: 1048576 } } });
  const topic = 'firehose';
  const reader = await connect(h, { ep: [topic] }, { label: 'reader' });
  const other = await connect(h, { ep: ['elsewhere'] }, { label: 'other' });
  const slow = await stalledStream(h, topic);
  let st = await h.state();
  assert.equal(st.connections.total, 3);
  const slowBefore = st.closed.slow;

  const payload = 'x'.repeat(16384);
  const type = uid('big');
  let published = 0;
  // Publish 16 KiB events in batches until the server gives up on the stalled
  // stream. The kernel's socket buffers absorb a few MiB first, so the count
  // needed varies; it is bounded at 3000 events (~48 MiB).
  for (let batch = 0; batch < 60; batch++) {
    for (let i = 0; i < 50; i++) {
      await publishOk(h, topic, type, { n: published, payload });
      published += 1;
    }
    st = await h.state();
    if (st.closed.slow > slowBefore) break;
  }
  st = await waitFor(async () => {
    const x = await h.state();
    return x.closed.slow === slowBefore + 1 && x.connections.total === 2 ? x : null;
  }, { timeout: 10000, what: `closed.slow +1 and total 2 after ${published} events` });

  // The reader got every event, once, in order.
  await waitFor(() => reader.all(type).length === published, { timeout: 20000, what: `reader to get ${published} events` });
  await barrier(h, [reader], topic, 10000);
  const got = reader.all(type);
  assert.equal(got.length, published);
  for (let i = 0; i < got.length; i++) {
    if (got[i].e.detail.n !== i) assert.fail(`reader: event ${i} has n=${got[i].e.detail.n}`);
  }
  assert.equal(reader.isEnded, false);

  // The stalled socket was really closed by the server: drain it and see the end.
  slow.sock.resume();
  slow.sock.on('data', (d) => { slow.bytes += d.length; });
  await Promise.race([
    slow.closedP,
    new Promise((_, rej) => setTimeout(() => rej(new Error('stalled stream not closed by the server within 10 s')), 10000)),
  ]);

  // Unrelated subscribers are untouched; dropped counts something.
  await barrier(h, [other], 'elsewhere');
  assert.ok(st.events.dropped >= 0);
  const again = await h.state();
  assert.equal(again.connections.total, 2);
});

// A reader that pauses long enough for the kernel's buffers to fill makes the
// server keep the rest in user space (partial writes, queued frames copied
// behind them); once it reads again it gets every event once, in order, and
// later events take the direct path again.
htest('paused reader: the backlog drains in order once it reads again', async () => {
  const h = await startHerald({ workers: 1, config: { limits: { max_output_buffer_bytes: 256 * 1024 * 1024 } } });
  const topic = 'backlog';
  const reader = await connect(h, { ep: [topic] }, { label: 'paused' });
  reader.res.pause();
  const type = uid('bk');
  const payload = 'y'.repeat(16384);
  let published = 0;
  let queued = 0;
  // Loopback buffers take a few MiB; publish until the server holds a backlog
  // (bounded at 2,000 events, ~32 MiB).
  for (let batch = 0; batch < 40 && queued === 0; batch++) {
    for (let i = 0; i < 50; i++) {
      await publishOk(h, topic, type, { n: published, payload });
      published += 1;
    }
    queued = (await h.memory()).queue_bytes;
  }
  assert.ok(queued > 0, `no backlog in user space after ${published} events`);
  reader.res.resume();
  await waitFor(() => reader.all(type).length === published,
    { timeout: 20000, what: `paused reader to get ${published} events` });
  for (let i = 0; i < 20; i++) {
    await publishOk(h, topic, type, { n: published, payload: 'small' });
    published += 1;
  }
  await barrier(h, [reader], topic, 10000);
  const got = reader.all(type);
  assert.equal(got.length, published);
  for (let i = 0; i < got.length; i++) {
    if (got[i].e.detail.n !== i) assert.fail(`event ${i} has n=${got[i].e.detail.n}`);
  }
  assert.equal((await h.memory()).queue_bytes, 0);
  assert.deepEqual(reader.errors, []);
});
