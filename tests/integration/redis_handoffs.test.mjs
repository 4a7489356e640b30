// Issue 12's channels-redis target: the Redis bridge runs on worker 0's
// loop, so on a one-worker node a publish (its script call, the reply, the
// answer) and the delivery of what Redis feeds back cost no hand-off between
// threads. Counted, not timed: the voluntary context switches of every
// thread of the node (each one is a thread going to sleep to be woken by
// another, or by a socket). Measured here: about 2 per event with the bridge
// on the worker, 4.3 with a bridge thread of its own.
// Also: a node whose worker hosted the bridge still stops cleanly (the
// store's own thread takes the loop over for the cluster's goodbye).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { htest, uid, waitFor } from './lib/herald.mjs';
import { sseOpen, waitMessages } from './lib/sse_client.mjs';
import { startRedis } from './lib/redis.mjs';
import { startNode, keepAlivePublisher, warmUp } from './lib/redis_nodes.mjs';

// Voluntary context switches summed over the threads of process `pid`, and
// how many threads it has.
function switches(pid) {
  let sum = 0;
  const tasks = fs.readdirSync(`/proc/${pid}/task`);
  for (const t of tasks) {
    try {
      const m = /^voluntary_ctxt_switches:\s+(\d+)$/m.exec(fs.readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8'));
      if (m) sum += Number(m[1]);
    } catch { /* the thread ended meanwhile */ }
  }
  return { sum, threads: tasks.length };
}

htest('redis: on a one-worker node a publish and its delivery wake no other thread (about 2 sleeps per event, not 4)', async () => {
  const redis = await startRedis();
  try {
    const a = await startNode(redis, 1, { workers: 1 });
    const topic = `room/${uid('h')}`;
    const sub = await sseOpen(a, { topic });
    await warmUp(a, sub, topic);
    const pub = keepAlivePublisher(a, { concurrency: 1 });
    const n = 300;
    const warmed = sub.messages().length;
    const before = switches(a.proc.pid);
    // One at a time: each publish finds every thread asleep, as at a
    // moderate rate, where each hand-off is a wake-up.
    for (let i = 0; i < n; i++) await pub.publish(topic, 'n', { i });
    await waitMessages(sub, warmed + n);
    const after = switches(a.proc.pid);
    pub.close();
    sub.close();
    const perEvent = (after.sum - before.sum) / n;
    // Here: the worker sleeps until the publish request comes, and until
    // the script's reply and the fed message come (often in one wake-up).
    // Through a bridge thread: the bridge also sleeps for the handed task
    // and the reply, and the worker for the reply and the message handed back.
    assert.ok(perEvent < 3, `${perEvent.toFixed(2)} voluntary context switches per event over ${after.threads} threads`);
    assert.equal(await a.stop('SIGTERM'), 0);
    assert.equal(redis.cli('ZSCORE', 'herald:nodes', '1'), '', 'it left the cluster on the way out');
  } finally {
    await redis.stop();
  }
});

htest('redis: nodes whose worker 0 hosts the bridge stop cleanly, one worker or several, with publishes in flight', async () => {
  const redis = await startRedis();
  try {
    for (const workers of [1, 3]) {
      const a = await startNode(redis, 2, { workers });
      const topic = `room/${uid('s')}`;
      const sub = await sseOpen(a, { topic });
      await warmUp(a, sub, topic);
      const pub = keepAlivePublisher(a, { concurrency: 4 });
      const inFlight = Array.from({ length: 40 }, (_, i) => pub.publish(topic, 'n', { i }).catch(() => null));
      await waitFor(() => sub.messages().length > 1, { what: 'a publish delivered' });
      assert.equal(await a.stop('SIGTERM'), 0, `${workers} workers: exit status`);
      await Promise.all(inFlight);
      pub.close();
      assert.equal(redis.cli('ZSCORE', 'herald:nodes', '2'), '', `${workers} workers: left the cluster`);
    }
  } finally {
    await redis.stop();
  }
});
