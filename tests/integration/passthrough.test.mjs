// issue 9 B.8: what a publisher sent is what subscribers get. `type` and
// `detail` are forwarded as the publisher's own tokens (numbers never go
// through a double), only minified and, for the wire's pure-ASCII rule,
// with raw non-ASCII characters and apostrophes written as \uXXXX. The
// stream, SSE and poll carry the same bytes.
import assert from 'node:assert/strict';
import { htest, startHerald, publish, uid } from './lib/herald.mjs';
import { connect } from './lib/esweb_client.mjs';
import { sseOpen, waitMessages } from './lib/sse_client.mjs';
import { pollStart, poll } from './lib/poll_client.mjs';

// The wire's escaping of already minified JSON text: every UTF-16 unit that
// is not ASCII, and the apostrophe, as \uXXXX (astral characters become
// surrogate pairs). Nothing else changes.
function asciiEscape(text) {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const u = text.charCodeAt(i);
    out += u >= 0x80 || u === 0x27 ? '\\u' + u.toString(16).padStart(4, '0') : text[i];
  }
  return out;
}

const nest = (n, inner) => '['.repeat(n) + inner + ']'.repeat(n);

// [name, detail as sent (minified), detail as it must arrive]
const CASES = [
  ['big integers', '{"id":1796286524043104123,"u64":12345678901234567890,"i64":-9223372036854775808}'],
  ['exponents and decimals', '[1e400,-1e400,1E+2,-1.5e-7,0.10,-0,1.0,123456789012345678901234567890.5]'],
  ['top-level number', '1796286524043104123'],
  ['every escape', '"\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0000x \\u00e9 \\ud83d\\ude00 \\u2028"'],
  ['raw UTF-8 and apostrophes', '{"text":"é 漢字 😀 it\'s \'quoted\'","k\'ey":"v"}'],
  ['NUL first', '"\\u0000x"'],
  ['literals', '[true,false,null,{},[],""]'],
  ['deep nesting within the limit', nest(900, '1e400')],
].map(([name, sent]) => [name, sent, asciiEscape(sent)]);

const TYPE_SENT = '"it\'s é \\u00e9 \\/"';
const TYPE_WIRE = asciiEscape(TYPE_SENT);

// Publishes `detail_text` verbatim (the body is built as text, not by
// JSON.stringify, so the tokens are exactly these).
async function publishRaw(h, topic, detailText, typeText = TYPE_SENT) {
  const body = `{"ep":[${JSON.stringify(topic)}],"e":{"type":${typeText},"detail":${detailText}}}`;
  const r = await publish(h, body);
  assert.equal(r.status, 200, `publish → ${r.status} ${r.text}`);
  return r.json.id;
}

// The raw text of each item of the JSON array that follows `marker` in
// `text` (a poll reply), so its bytes can be compared as they came.
function rawArrayItems(text, marker) {
  const items = [];
  let i = text.indexOf(marker) + marker.length;
  let depth = 0;
  let start = i;
  for (; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (c === '[' || c === '{') {
      depth++;
    } else if (c === ']' || c === '}') {
      if (depth === 0) break;
      depth--;
    } else if (c === ',' && depth === 0) {
      items.push(text.slice(start, i));
      start = i + 1;
    }
  }
  items.push(text.slice(start, i));
  return items;
}

function assertSameEvent(raw, sent, wire, where) {
  // Byte for byte: the event's `e` is the sent tokens, escaped for ASCII only.
  const want = `"e":{"type":${TYPE_WIRE},"detail":${wire}}`;
  assert.ok(raw.includes(want), `${where}: ${want.slice(0, 120)} not in ${raw.slice(0, 300)}`);
  // And the same value for a JSON parser.
  const got = JSON.parse(raw);
  const ev = got.e || got;
  assert.deepEqual(ev.detail, JSON.parse(sent), `${where}: parsed detail`);
  assert.equal(ev.type, JSON.parse(TYPE_SENT), `${where}: parsed type`);
}

htest('pass-through: detail and type arrive as the sent tokens on stream, SSE and poll', async () => {
  const h = await startHerald({ workers: 2 });
  const topic = uid('pt');
  const stream = await connect(h, { ep: [topic] }, { label: 'stream' });
  const sse = await sseOpen(h, { topic });
  const first = await pollStart(h, { topic, timeout: 0 });

  const ids = [];
  for (const [, sent] of CASES) ids.push(await publishRaw(h, topic, sent));

  for (let i = 0; i < CASES.length; i++) {
    const [name, sent, wire] = CASES[i];
    const f = await stream.next((x) => x.id === ids[i]);
    assertSameEvent(f.raw, sent, wire, `stream ${name}`);
  }
  const msgs = await waitMessages(sse, CASES.length);
  for (let i = 0; i < CASES.length; i++) {
    const [name, sent, wire] = CASES[i];
    assert.equal(msgs[i].id, ids[i]);
    assertSameEvent(msgs[i].data, sent, wire, `sse ${name}`);
  }
  const r = await poll(h, { connid: first.connid, secret: first.secret, since: first.cursor, timeout: 0 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.events.length, CASES.length, r.text.slice(0, 300));
  const rawEvents = rawArrayItems(r.text, '"events":[');
  for (let i = 0; i < CASES.length; i++) {
    const [name, sent, wire] = CASES[i];
    assert.equal(r.json.events[i].id, ids[i]);
    assertSameEvent(rawEvents[i], sent, wire, `poll ${name}`);
  }
});

htest('pass-through: whitespace between tokens is dropped, never inside strings or numbers', async () => {
  const h = await startHerald({ workers: 1 });
  const topic = uid('ws');
  const sse = await sseOpen(h, { topic });
  await publishRaw(h, topic, '{ "a" :\n\t[ 1796286524043104123 , " x  y " ,\r\n1e400 ] }', ' "t" ');
  const [m] = await waitMessages(sse, 1);
  assert.ok(m.data.includes('"e":{"type":"t","detail":{"a":[1796286524043104123," x  y ",1e400]}}'), m.data);
});

htest('pass-through: an event without detail is delivered without detail (issue 10 item 6)', async () => {
  const h = await startHerald({ workers: 1 });
  const topic = uid('nd');
  const stream = await connect(h, { ep: [topic] });
  const sse = await sseOpen(h, { topic });
  const r = await publish(h, `{"ep":["${topic}"],"e":{"type":"bare"}}`);
  assert.equal(r.status, 200, r.text);
  const f = await stream.next('bare');
  assert.ok(f.raw.endsWith('"e":{"type":"bare"}}'), f.raw);
  assert.equal('detail' in f.e, false);
  const [m] = await waitMessages(sse, 1);
  assert.ok(m.data.endsWith('"e":{"type":"bare"}}'), m.data);
  // An explicit null is what was sent, so it is delivered.
  await publish(h, `{"ep":["${topic}"],"e":{"type":"nul","detail":null}}`);
  assert.ok((await stream.next('nul')).raw.endsWith('"e":{"type":"nul","detail":null}}'));
});

htest('pass-through: JSON that JSON.parse would reject is a 400, not forwarded', async () => {
  const h = await startHerald({ workers: 1 });
  const topic = uid('bad');
  const sse = await sseOpen(h, { topic });
  for (const detail of ['"raw\ttab"', '"raw\nnewline"', '01', '1.', '"\\ud83d"', '"\\x41"']) {
    const r = await publish(h, `{"ep":["${topic}"],"e":{"type":"t","detail":${detail}}}`);
    assert.equal(r.status, 400, `${JSON.stringify(detail)} → ${r.status} ${r.text}`);
    assert.match(r.text, /Invalid JSON in body/, JSON.stringify(detail));
  }
  await publish(h, `{"ep":["${topic}"],"e":{"type":"ok","detail":1}}`);
  const msgs = await waitMessages(sse, 1);
  assert.deepEqual(msgs.map((m) => m.json.e.type), ['ok'], 'only the valid publish went out');
});
