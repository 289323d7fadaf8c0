// BullMQ's features one after the other, each result printed as a line:
//   node api.mjs host:port [--no-flows]
// The test runs it against redis-server and against tricache and requires the
// same lines. Covered: priorities, LIFO, deduplication, pause/resume, the
// processing order, progress, job logs, a failure and a manual retry,
// QueueEvents (read from the events stream with XREAD BLOCK), getWorkers
// (CLIENT SETNAME / CLIENT LIST), metrics, a job scheduler (repeat), a rate
// limiter, FlowProducer (parent and children; --no-flows leaves it out),
// clean, drain and the final counts. Every wait polls with a deadline.
import { FlowProducer, Job, Queue, QueueEvents, Worker } from 'bullmq';

const [host, port] = process.argv[2].split(':');
const flows = !process.argv.includes('--no-flows');
const connection = { host, port: Number(port), maxRetriesPerRequest: null };
const out = [];
const rec = (k, v) => out.push(`${k}: ${JSON.stringify(v)}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(what, cond, ms = 20000) {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function main() {
  const q = new Queue('api', { connection });
  await q.obliterate({ force: true });
  const ev = new QueueEvents('api', { connection });
  await ev.waitUntilReady();
  const seen = new Set();
  ev.on('completed', ({ jobId }) => seen.add(`completed ${jobId}`));
  ev.on('failed', ({ jobId, failedReason }) => seen.add(`failed ${jobId} ${failedReason}`));
  ev.on('progress', ({ jobId, data }) => seen.add(`progress ${jobId} ${JSON.stringify(data)}`));

  await q.add('p', { x: 1 }, { jobId: 'p1', priority: 5 });
  await q.add('p', { x: 2 }, { jobId: 'p2', priority: 1 });
  await q.add('l', { x: 3 }, { jobId: 'l1', lifo: true });
  await q.add('d', { x: 4 }, { jobId: 'dd1', deduplication: { id: 'dedup' } });
  const dup = await q.add('d', { x: 5 }, { jobId: 'dd2', deduplication: { id: 'dedup' } });
  rec('deduplicated to', dup.id);
  rec('counts before', await q.getJobCounts());
  rec('counts per priority', await q.getCountsPerPriority([1, 5]));
  await q.pause();
  rec('paused', await q.isPaused());
  await q.resume();
  rec('paused after resume', await q.isPaused());

  const order = [];
  const w = new Worker('api', async (job) => {
    order.push(job.id);
    await job.updateProgress(50);
    await job.log(`log line ${job.id}`);
    if (job.id === 'l1') throw new Error('boom');
    if (job.name === 'parent') return { kids: await job.getChildrenValues() };
    return { ok: job.id };
  }, { connection, concurrency: 1, name: 'api-worker', metrics: { maxDataPoints: 10 } });
  await w.waitUntilReady();
  await until('the first four jobs', async () => (await q.getCompletedCount()) + (await q.getFailedCount()) === 4);
  rec('processing order', order);
  rec('worker names', (await q.getWorkers()).map((x) => x.name));
  rec('logs of p1', await q.getJobLogs('p1'));
  rec('failed', (await q.getFailed()).map((j) => [j.id, j.failedReason, j.attemptsMade]));
  rec('completed', (await q.getCompleted()).map((j) => [j.id, j.returnvalue, j.progress]).sort());
  rec('metrics count', (await q.getMetrics('completed')).meta.count);
  const l1 = await Job.fromId(q, 'l1');
  await l1.retry();
  await until('l1 failing again', async () => order.filter((id) => id === 'l1').length === 2 &&
    (await (await Job.fromId(q, 'l1')).getState()) === 'failed');
  const again = await Job.fromId(q, 'l1');
  rec('l1 after retry', [again.attemptsMade, again.failedReason]);
  const want = ['completed p1', 'completed p2', 'completed dd1', 'failed l1 boom', 'progress p1 50', 'progress p2 50',
                'progress dd1 50', 'progress l1 50'];
  await until('QueueEvents', () => want.every((e) => seen.has(e)));
  rec('events', [...seen].filter((e) => /^(completed|failed|progress) (p1|p2|dd1|l1)\b/.test(e)).sort());

  if (flows) {
    const fp = new FlowProducer({ connection });
    await fp.add({ name: 'parent', queueName: 'api', opts: { jobId: 'par' }, children: [
      { name: 'c', queueName: 'api', data: { c: 1 }, opts: { jobId: 'c1' } },
      { name: 'c', queueName: 'api', data: { c: 2 }, opts: { jobId: 'c2' } }] });
    await until('the parent job', async () => (await (await Job.fromId(q, 'par')).getState()) === 'completed');
    rec('parent result', (await Job.fromId(q, 'par')).returnvalue);
    await fp.close();
  }

  await q.upsertJobScheduler('sched', { every: 100 }, { name: 'rep', data: {} });
  await until('two repeated jobs', () => [...seen].filter((e) => e.startsWith('completed repeat:sched:')).length >= 2);
  rec('schedulers', (await q.getJobSchedulers()).map((s) => s.key));
  await q.removeJobScheduler('sched');
  await w.close();

  const rl = new Worker('api', async () => 1, { connection, limiter: { max: 2, duration: 300 } });
  await q.addBulk([1, 2, 3, 4].map((i) => ({ name: 'rl', data: { i }, opts: { jobId: `rl${i}` } })));
  await until('rate-limited jobs', async () => {
    const states = await Promise.all([1, 2, 3, 4].map(async (i) => (await Job.fromId(q, `rl${i}`)).getState()));
    return states.every((s) => s === 'completed');
  });
  rec('rate-limited jobs', 'completed');
  await rl.close();

  rec('cleaned some', (await q.clean(0, 1000, 'completed')).length > 0);
  await q.drain(true);
  rec('counts at the end', await q.getJobCounts());
  await ev.close();
  await q.close();
  console.log(out.join('\n'));
}

const hard = setTimeout(() => { console.log(out.join('\n')); console.log('FAILED: hard deadline'); process.exit(2); }, 120000);
hard.unref();
main().then(() => process.exit(0), (err) => {
  console.log(out.join('\n'));
  console.log(`FAILED: ${err && err.message}`);
  process.exit(1);
});
