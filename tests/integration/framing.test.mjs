// ''N''json framing with non-ASCII text and apostrophes. The es-web client fails
// the test on any non-ASCII byte or any frame whose part after ''N'' is not N
// characters long, so every delivered frame here proves the pure-ASCII rule.
import assert from 'node:assert/strict';
import { htest, startHerald, publishOk, uid } from './lib/herald.mjs';
import { connect } from './lib/esweb_client.mjs';

const NASTY = "it's l''été — 漢字 😀 \u2028 \u00a0 ''0'' ''12''";

htest('framing: non-ASCII and apostrophes in type, detail and topic are escaped as \\uXXXX', async () => {
  const h = await startHerald();
  const topic = "café/l'été/漢/😀";
  const s = await connect(h, { clid: "cl'é😀", ep: [topic, 'plain/topic'] });

  const type = "type 'é' 漢 😀";
  const detail = { text: NASTY, [NASTY]: [NASTY, "'"], n: 1 };
  await publishOk(h, topic, type, detail);
  const f = await s.next(type);
  assert.deepEqual(f.ep, { requested: topic, emitted: topic });
  assert.equal(f.e.type, type);
  assert.deepEqual(f.e.detail, detail);

  const raw = f.raw;
  assert.ok(!raw.includes("'"), 'no raw apostrophe in the frame');
  assert.match(raw, /\\u0027/i, "' is written \\u0027");
  assert.match(raw, /\\u00e9/i, 'é is written \\u00e9');
  assert.match(raw, /\\u6f22/i, '漢 is written \\u6f22');
  assert.match(raw, /\\ud83d\\ude00/i, '😀 is written as a surrogate pair');
  assert.match(raw, /\\u2028/i, 'U+2028 is escaped');
  assert.ok(/^[\x20-\x7e]*$/.test(raw), 'the frame is printable ASCII');

  // Plain ASCII still passes through unchanged and parses.
  await publishOk(h, 'plain/topic', 'ascii', { s: 'hello "world" \\ /' });
  const g = await s.next('ascii');
  assert.deepEqual(g.e.detail, { s: 'hello "world" \\ /' });
});

htest('framing: many frames back to back, big and small, keep their boundaries', async () => {
  // The largest event is ~375 KB escaped: over the default limits.max_event_bytes
  // (256 KiB), still under the default 1 MiB output buffer cap.
  const h = await startHerald({ config: { limits: { max_event_bytes: 512 * 1024 } } });
  const s = await connect(h, { ep: ['burst'] });
  const sizes = [0, 1, 9, 10, 99, 100, 1000, 9999, 10000, 30000, 60000];
  const text = (n) => Array.from("a'é😀".repeat(Math.ceil(n / 4) + 1)).slice(0, n).join('');
  const types = [];
  for (const n of sizes) {
    const t = uid('b');
    types.push(t);
    // mix apostrophes and multi-byte characters so escaped and raw lengths differ
    await publishOk(h, 'burst', t, text(n));
  }
  for (let i = 0; i < sizes.length; i++) {
    const f = await s.next(types[i]);
    assert.equal(f.e.detail, text(sizes[i]));
  }
  // Frames arrived in publish order.
  const order = s.frames.slice(1).map((f) => f.e.type);
  assert.deepEqual(order, types);
});

htest('framing: the connected frame and presence frames are ASCII too', async () => {
  const h = await startHerald();
  const w = await connect(h, { clid: 'w', ep: ["@CONNECTION@/zoë's 😀"] });
  const av = await w.next('available');
  assert.equal(av.ep.emitted, "@CONNECTION@/zoë's 😀");
  await connect(h, { clid: "zoë's 😀", ep: ['x'] });
  const c = await w.next('connect');
  assert.equal(c.ep.requested, "@CONNECTION@/zoë's 😀");
  assert.ok(/^[\x20-\x7e]*$/.test(c.raw));
});
