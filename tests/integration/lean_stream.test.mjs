// A plain-TCP stream leaves evhttp once its response head is sent and is
// served by herald's own lean socket (server/transport/lean_socket.h): these
// tests drive that socket with raw clients — HTTP/1.0 (close-delimited),
// garbage after the request, a client leaving while a frame is half written,
// and a stream that ends with bytes still queued (the finisher).
import assert from 'node:assert/strict';
import net from 'node:net';
import { htest, startHerald, publishOk, waitFor, request, uid } from './lib/herald.mjs';

// A raw client: sends `head` (+ body), keeps everything it receives.
function rawStream(h, { method = 'POST', path = '/', version = '1.1', body = '' } = {}) {
  const sock = net.connect(h.pubPort, '127.0.0.1');
  const st = { sock, data: '', closed: false, error: null };
  st.closedP = new Promise((r) => sock.on('close', () => { st.closed = true; r(); }));
  sock.on('error', (e) => { st.error = e; });
  sock.on('data', (d) => { st.data += d.toString('latin1'); });
  const len = Buffer.byteLength(body);
  sock.write(`${method} ${path} HTTP/${version}\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${len}\r\n\r\n${body}`);
  st.waitText = (text, what = text) => waitFor(() => st.data.includes(text), { timeout: 10000, what });
  return st;
}

function kick(h, body) {
  return request(h.priv + '/disconnect', {
    method: 'POST',
    headers: { Authorization: `Bearer ${h.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

const total = async (h) => (await h.state()).connections.total;

htest('lean stream: an HTTP/1.0 es-web client gets a close-delimited stream, events, and the end on a kick', async () => {
  const h = await startHerald({ workers: 1 });
  const topic = uid('t');
  const clid = uid('c');
  const s = rawStream(h, { version: '1.0', body: JSON.stringify({ clid, ep: [topic] }) });
  await s.waitText('"connected"');
  assert.match(s.data, /^HTTP\/1\.[01] 200/);
  assert.ok(!/transfer-encoding/i.test(s.data), 'no chunked framing for HTTP/1.0');
  const type = uid('ev');
  await publishOk(h, topic, type, { n: 1 });
  await s.waitText(type);
  assert.equal((await kick(h, { clid })).status, 200);
  await waitFor(() => s.closed, { what: 'the server to close the socket' });
  assert.ok(s.data.includes('"kicked"'), 'the disconnect frame arrived before the close');
  assert.ok(!s.data.endsWith('0\r\n\r\n'), 'no chunk terminator on a close-delimited body');
  await waitFor(async () => (await total(h)) === 0, { what: 'the connection forgotten' });
});

htest('lean stream: an HTTP/1.0 SSE client gets events and the end on a kick', async () => {
  const h = await startHerald({ workers: 1 });
  const topic = uid('t');
  const clid = uid('c');
  const s = rawStream(h, { method: 'GET', path: `/sse?clid=${clid}&ep=${topic}`, version: '1.0' });
  await s.waitText('event: connected');
  const type = uid('ev');
  await publishOk(h, topic, type, { n: 1 });
  await s.waitText(type);
  assert.equal((await kick(h, { clid })).status, 200);
  await waitFor(() => s.closed, { what: 'the server to close the socket' });
  assert.ok(s.data.includes('event: disconnect'));
});

htest('lean stream: a little garbage after the request is discarded; past 64 KiB the stream is cut', async () => {
  const h = await startHerald({ workers: 1 });
  const topic = uid('t');
  const s = rawStream(h, { body: JSON.stringify({ clid: 'g', ep: [topic] }) });
  await s.waitText('"connected"');
  // Small garbage, then far more than the 64 KiB that is read and discarded.
  s.sock.write('GET /again HTTP/1.1\r\n\r\nrubbish');
  const type1 = uid('ev');
  await publishOk(h, topic, type1, { n: 1 });
  await s.waitText(type1);
  assert.ok(!s.closed);
  // A paused read (evhttp's way) would keep this socket forever, and never
  // see the client leave behind its unread bytes.
  const before = (await h.state()).closed.client;
  s.sock.write('x'.repeat(256 * 1024));
  await waitFor(() => s.closed, { what: 'the server to cut the stream' });
  await waitFor(async () => {
    const st = await h.state();
    return st.connections.total === 0 && st.closed.client === before + 1;
  }, { what: 'the cut stream counted as gone' });
  // The worker still serves new streams.
  const t = rawStream(h, { body: JSON.stringify({ clid: 'g2', ep: [topic] }) });
  await t.waitText('"connected"');
  t.sock.destroy();
});

// A stream whose client stopped reading: the kernel buffers fill and the
// server keeps the rest of a frame for the write event.
async function stalled(h, topic, clid) {
  const s = rawStream(h, { body: JSON.stringify({ clid, ep: [topic] }) });
  await s.waitText('"connected"');
  s.sock.pause();
  return s;
}

// Publishes `n` 64 KiB events: 120 (7.5 MiB) are far more than loopback's
// socket buffers take, so the server holds the rest, a frame half written.
async function flood(h, topic, type, n) {
  const payload = 'y'.repeat(65536);
  for (let i = 0; i < n; i++) await publishOk(h, topic, type, { i, payload });
}

htest('lean stream: a client that leaves while a frame is half written is forgotten; the worker goes on', async () => {
  const h = await startHerald({ workers: 1, config: { limits: { max_output_buffer_bytes: 64 * 1024 * 1024 } } });
  const topic = uid('t');
  const s = await stalled(h, topic, 'half');
  await flood(h, topic, uid('big'), 120);  // ~7.5 MiB: more than loopback's buffers take
  const before = (await h.state()).closed.client;
  s.sock.destroy();
  await waitFor(async () => {
    const st = await h.state();
    return st.connections.total === 0 && st.closed.client === before + 1;
  }, { what: 'the stalled client counted as gone' });
  const t = rawStream(h, { body: JSON.stringify({ clid: 'after', ep: [topic] }) });
  await t.waitText('"connected"');
  const type = uid('ev');
  await publishOk(h, topic, type, { n: 1 });
  await t.waitText(type);
  t.sock.destroy();
});

htest('lean stream: a stream kicked with output still queued sends all of it, then the disconnect and the last chunk', async () => {
  const h = await startHerald({ workers: 1, config: { limits: { max_output_buffer_bytes: 64 * 1024 * 1024 } } });
  const topic = uid('t');
  const s = await stalled(h, topic, 'queued');
  const type = uid('big');
  const n = 120;
  await flood(h, topic, type, n);
  assert.equal((await kick(h, { clid: 'queued' })).status, 200);
  await waitFor(async () => (await total(h)) === 0, { what: 'the kicked stream forgotten' });
  s.sock.resume();
  await waitFor(() => s.closed, { timeout: 20000, what: 'the socket closed after the queued bytes' });
  assert.equal(s.error, null, 'closed cleanly, not reset');
  const seen = s.data.split(`"${type}"`).length - 1;
  assert.equal(seen, n, 'every queued event arrived');
  assert.ok(s.data.includes('"kicked"'), 'then the disconnect frame');
  assert.ok(s.data.endsWith('\r\n0\r\n\r\n'), 'then the chunked terminator');
});

htest('lean stream: a stream opened on a kept-alive connection (after a poll) gets its head and frames', async () => {
  const h = await startHerald({ workers: 1 });
  const sock = net.connect(h.pubPort, '127.0.0.1');
  let data = '';
  sock.on('data', (d) => { data += d.toString('latin1'); });
  sock.on('error', () => {});
  sock.write('GET /poll?topic=ka HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  await waitFor(() => /"cursor"/.test(data), { what: 'the poll answer' });
  data = '';
  // evhttp's output buffer of a reused connection would not give up its
  // chains (evbuffer_add_buffer failed): the head was lost.
  const topic = uid('t');
  const body = JSON.stringify({ ep: [topic] });
  sock.write(`POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  await waitFor(() => data.includes('"connected"'), { what: 'the connected frame' });
  assert.match(data, /^HTTP\/1\.1 200 OK\r\n/);
  const type = uid('ev');
  await publishOk(h, topic, type, { n: 1 });
  await waitFor(() => data.includes(type), { what: 'the event' });
  sock.destroy();
});
