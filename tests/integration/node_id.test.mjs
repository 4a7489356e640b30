// Connids carry their node (docs/protocol.md "Connection ids"): node_id is in
// bits 6..15, the worker in bits 0..5, and a connid minted by another node is
// not taken for a local one.
import assert from 'node:assert/strict';
import { htest, startHerald, runHerald, request, assertError } from './lib/herald.mjs';
import { connect } from './lib/esweb_client.mjs';

const nodeOf = (connid) => Math.floor(connid / 64) % 1024;
const workerOf = (connid) => connid % 64;

htest('node_id: every connid names the configured node and stays below 2^53', async () => {
  const h = await startHerald({ workers: 2, extraArgs: ['--node-id', '37'] });
  for (let i = 0; i < 4; ++i) {
    const s = await connect(h, { ep: ['nid'] });
    const { connid } = s.detail;
    assert.ok(Number.isSafeInteger(connid), String(connid));
    assert.equal(nodeOf(connid), 37, `connid ${connid}`);
    assert.ok(workerOf(connid) < 2, `connid ${connid}`);
  }
});

htest('node_id: a config file sets it too', async () => {
  const h = await startHerald({ config: { node_id: 1023 } });
  const s = await connect(h, { ep: ['nid'] });
  assert.equal(nodeOf(s.detail.connid), 1023);
});

htest('node_id: another node\'s connid is not a local connection', async () => {
  const h = await startHerald({ extraArgs: ['--node-id', '3'] });
  const s = await connect(h, { ep: ['nid'] });
  const { connid, secret } = s.detail;
  // Same sequence and worker, another node: the owner is elsewhere.
  const foreign = connid - 3 * 64 + 4 * 64;
  const alive = (id) => request(h.pub + '/alive', { method: 'POST', body: { connid: id, secret } });
  assertError(await alive(foreign), 400, 'Invalid data', 'foreign connid');
  assert.equal((await alive(connid)).status, 200);
});

htest('node_id: out of range is refused at start, naming the flag', async () => {
  const r = await runHerald(['--node-id', '1024', '--listen', '127.0.0.1:0', '--private-listen', '127.0.0.1:0']);
  assert.equal(r.timedOut, false, 'herald exited by itself');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /--node-id/);
});
