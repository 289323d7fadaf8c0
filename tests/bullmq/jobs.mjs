// BullMQ producers and workers against tricache or redis-server.
//
//   node jobs.mjs check --sentinels 127.0.0.1:7001,127.0.0.1:7002 --name test \
//        --jobs 600 --log /tmp/attempts.log [--ready FILE --gate FILE]
//   node jobs.mjs check --server 127.0.0.1:6379 --jobs 600 --log /tmp/attempts.log
//   node jobs.mjs bench --server 127.0.0.1:6379 --jobs 5000 --workers 4 --concurrency 8
//
// check: producers add --jobs jobs of four kinds (by index i):
//   i % 10 == 0       delayed by 300..1200 ms, processed once;
//   i % 10 == 1 or 2  fail their first 1 (or 2) attempts, attempts: 4, fixed backoff 200 ms;
//   i % 10 == 3 && i % 20 == 3  fail every attempt (attempts: 2) and end in the failed set;
//   the rest          plain, processed once.
// Workers record every processing attempt outside Redis (a line "id attempt ms"
// appended to --log before the processor answers). With --ready and --gate the
// producers add the first half, the script creates --ready once half of that half
// has completed, and the producers wait for --gate to exist before adding the
// second half: a test kills the primary in between, so the kill always falls in
// the middle of the run.
//
// What BullMQ promises, and what is checked at the end (exit 0 and "ok ..."):
//   - no job is lost: every job id is found, in the completed set (or the failed
//     set for the failing kind), and nothing is left waiting, delayed or active;
//   - processing is at least once: each attempt the options call for is recorded
//     (attempt numbers 0..n-1); a job may be processed again after a stalled-job
//     recovery (counted and printed as "repeats", allowed);
//   - attemptsMade is what BullMQ counts on redis-server (plain 1, retried k+1,
//     failing 2) and the return value is the one the last attempt gave;
//   - a delayed job is not processed before its timestamp + delay;
//   - a retried attempt starts no earlier than the backoff after the previous one.
//
// bench: the producers add --jobs plain jobs first (addBulk), then the workers are
// started and the time until all are completed is measured: prints
// "jobs_per_sec <n>".
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { Queue, Worker } from 'bullmq';

function parseArgs(argv) {
  const o = { mode: argv[0], jobs: 600, producers: 4, workers: 4, concurrency: 8, queue: 'tcq',
              deadline: 120000, name: 'tricache' };
  for (let i = 1; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, ''), v = argv[i + 1];
    if (v === undefined) throw new Error(`missing value for ${argv[i]}`);
    o[k] = ['jobs', 'producers', 'workers', 'concurrency', 'deadline'].includes(k) ? Number(v) : v;
  }
  if (o.mode !== 'check' && o.mode !== 'bench') throw new Error('first argument: check or bench');
  if (!o.server && !o.sentinels) throw new Error('--server host:port or --sentinels h:p,... is required');
  if (o.mode === 'check' && !o.log) throw new Error('check needs --log FILE');
  return o;
}

const opt = parseArgs(process.argv.slice(2));
const hostPort = (s) => { const [host, port] = s.split(':'); return { host, port: Number(port) }; };

// One connection description for every Queue and Worker: BullMQ makes its own
// connections from it. maxRetriesPerRequest: null is what BullMQ requires of a
// worker's connection (a command waits through a reconnect instead of failing).
// A write that reaches a replica after a failover gets -READONLY, and one the
// old primary could not commit -TRYAGAIN: both reconnect (asking the sentinels
// for the primary again) and resend the command.
function connection() {
  const c = {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(50 * times, 500),
    reconnectOnError: (err) => /^(READONLY|TRYAGAIN)/.test(err.message) ? 2 : false,
  };
  if (opt.sentinels) {
    c.sentinels = opt.sentinels.split(',').map(hostPort);
    c.name = opt.name;
    c.sentinelRetryStrategy = (times) => Math.min(50 * times, 500);
    // Not failoverDetector: its +switch-master subscriptions outlive the
    // connection they were made for, and a message arriving while that
    // connection is already reconnecting (the primary was killed) cancels the
    // reconnect for good (ioredis 5.11.1: status "end", every later command
    // "Connection is closed"). -READONLY covers a primary that moved away.
  } else {
    Object.assign(c, hostPort(opt.server));
  }
  return c;
}

const kinds = (i) => {
  if (i % 10 === 0) return { kind: 'delayed', delay: 300 + (i * 37) % 900 };
  if (i % 10 === 1) return { kind: 'retried', fails: 1 };
  if (i % 10 === 2) return { kind: 'retried', fails: 2 };
  if (i % 20 === 3) return { kind: 'failing' };
  return { kind: 'plain' };
};
const ATTEMPTS_RETRIED = 4, ATTEMPTS_FAILING = 2, BACKOFF_MS = 200;

function jobSpec(i) {
  const k = opt.mode === 'bench' ? { kind: 'plain' } : kinds(i);
  const opts = { jobId: `j${i}` };
  if (k.kind === 'delayed') opts.delay = k.delay;
  if (k.kind === 'retried') { opts.attempts = ATTEMPTS_RETRIED; opts.backoff = { type: 'fixed', delay: BACKOFF_MS }; }
  if (k.kind === 'failing') { opts.attempts = ATTEMPTS_FAILING; opts.backoff = { type: 'fixed', delay: BACKOFF_MS }; }
  return { name: k.kind, data: { i, ...k }, opts };
}

// Errors the clients reported (reconnects during a failover, ...), grouped by
// their text with numbers blanked out.
function summarizeErrors() {
  const groups = new Map();
  for (const e of errors) {
    const k = e.replace(/\d+/g, '#');
    groups.set(k, (groups.get(k) || 0) + 1);
  }
  return `client errors (${errors.length}):\n` +
    [...groups].sort((a, b) => b[1] - a[1]).map(([k, n]) => `  ${n} x ${k}`).join('\n');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const errors = [];
const noteError = (where) => (err) => { errors.push(`${where}: ${err && err.message}`); };

async function produce(queue, from, to) {
  // Producers take every opt.producers-th job of [from, to); jobId makes a
  // resent add (after a reconnect) land on the same job instead of a new one.
  const one = async (p) => {
    for (let i = from + p; i < to; i += opt.producers) {
      const s = jobSpec(i);
      for (;;) {
        try { await queue.add(s.name, s.data, s.opts); break; } catch (err) {
          noteError(`add j${i}`)(err);
          await sleep(100);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: opt.producers }, (_, p) => one(p)));
}

async function processor(job) {
  if (opt.mode === 'bench') return job.data.i;
  const started = Date.now();
  appendFileSync(opt.log, `${job.id} ${job.attemptsMade} ${started}\n`);
  const d = job.data;
  if (d.kind === 'retried' && job.attemptsMade < d.fails) throw new Error(`planned failure ${job.attemptsMade}`);
  if (d.kind === 'failing') throw new Error('always fails');
  return `done:${job.id}`;
}

async function counts(queue) {
  return queue.getJobCounts('wait', 'paused', 'delayed', 'active', 'completed', 'failed', 'prioritized',
                            'waiting-children');
}

async function waitAll(queue, expectCompleted, expectFailed) {
  const deadline = Date.now() + opt.deadline;
  let c, lastShown = Date.now();
  for (;;) {
    try {
      c = await counts(queue);
      if (c.completed === expectCompleted && c.failed === expectFailed && c.wait + c.delayed + c.active +
          c.prioritized + c.paused === 0) return c;
    } catch (err) { noteError('counts')(err); }
    if (Date.now() > deadline) throw new Error(`deadline passed: counts ${JSON.stringify(c)}`);
    if (opt.mode === 'check' && Date.now() - lastShown >= 2000) {
      lastShown = Date.now();
      console.error(`[+${Date.now() - t0} ms] counts ${JSON.stringify(c)}`);
    }
    await sleep(opt.mode === 'bench' ? 20 : 200);
  }
}

async function main() {
  const queue = new Queue(opt.queue, { connection: connection() });
  queue.on('error', noteError('queue'));
  await queue.waitUntilReady();
  await queue.obliterate({ force: true });
  const workers = [];
  const startWorkers = () => {
    for (let w = 0; w < opt.workers; w++) {
      const wk = new Worker(opt.queue, processor, {
        connection: connection(), concurrency: opt.concurrency, lockDuration: 10000, stalledInterval: 5000,
        maxStalledCount: 2,
      });
      wk.on('error', noteError(`worker ${w}`));
      workers.push(wk);
    }
  };

  if (opt.mode === 'bench') {
    await produce(queue, 0, opt.jobs);
    const t0 = process.hrtime.bigint();
    startWorkers();
    await waitAll(queue, opt.jobs, 0);
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(`jobs_per_sec ${(opt.jobs / secs).toFixed(1)} jobs ${opt.jobs} seconds ${secs.toFixed(3)}`);
  } else {
    writeFileSync(opt.log, '');
    let expectFailed = 0;
    for (let i = 0; i < opt.jobs; i++) if (kinds(i).kind === 'failing') expectFailed++;
    startWorkers();
    const half = Math.floor(opt.jobs / 2);
    setPhase('adding the first half');
    await produce(queue, 0, half);
    setPhase('waiting for a quarter done');
    if (opt.ready) {
      // Half of the first half completed (or failed): the kill may come.
      const deadline = Date.now() + opt.deadline;
      for (;;) {
        const c = await counts(queue);
        if (c.completed + c.failed >= half / 2) break;
        if (Date.now() > deadline) throw new Error(`first half never got going: ${JSON.stringify(c)}`);
        await sleep(50);
      }
      writeFileSync(opt.ready, `${Date.now()}\n`);
      setPhase('waiting for the gate');
      while (!existsSync(opt.gate)) {
        if (Date.now() > deadline) throw new Error(`no ${opt.gate} before the deadline`);
        await sleep(50);
      }
    }
    setPhase('adding the second half');
    await produce(queue, half, opt.jobs);
    setPhase('waiting for every job');
    const c = await waitAll(queue, opt.jobs - expectFailed, expectFailed);
    setPhase('verifying');
    const problems = await verify(queue);
    const repeats = problems.repeats;
    if (problems.list.length) {
      console.log(problems.list.slice(0, 30).join('\n'));
      console.log(`FAILED: ${problems.list.length} problem(s); counts ${JSON.stringify(c)}`);
      process.exitCode = 1;
    } else {
      console.log(`ok jobs ${opt.jobs} completed ${c.completed} failed ${c.failed} repeats ${repeats} ` +
                  `client_errors ${errors.length}`);
    }
  }
  if (errors.length) console.error(summarizeErrors());
  await Promise.all(workers.map((w) => w.close()));
  await queue.close();
}

async function verify(queue) {
  const { readFileSync } = await import('node:fs');
  const seen = new Map(); // id -> [{attempt, ms}]
  for (const line of readFileSync(opt.log, 'utf8').split('\n')) {
    if (!line) continue;
    const [id, a, ms] = line.split(' ');
    if (!seen.has(id)) seen.set(id, []);
    seen.get(id).push({ attempt: Number(a), ms: Number(ms) });
  }
  const list = [];
  let repeats = 0;
  for (let i = 0; i < opt.jobs; i++) {
    const id = `j${i}`, k = kinds(i);
    const job = await queue.getJob(id);
    if (!job) { list.push(`${id}: lost (no such job)`); continue; }
    const state = await job.getState();
    const wantState = k.kind === 'failing' ? 'failed' : 'completed';
    const wantAttempts = k.kind === 'retried' ? k.fails + 1 : k.kind === 'failing' ? ATTEMPTS_FAILING : 1;
    if (state !== wantState) list.push(`${id} (${k.kind}): state ${state}, want ${wantState}`);
    if (job.attemptsMade !== wantAttempts) list.push(`${id} (${k.kind}): attemptsMade ${job.attemptsMade}, want ${wantAttempts}`);
    if (wantState === 'completed' && job.returnvalue !== `done:${id}`) list.push(`${id}: returnvalue ${JSON.stringify(job.returnvalue)}`);
    const recs = seen.get(id) || [];
    for (let a = 0; a < wantAttempts; a++) {
      if (!recs.some((r) => r.attempt === a)) list.push(`${id} (${k.kind}): attempt ${a} never processed`);
    }
    repeats += Math.max(0, recs.length - wantAttempts);
    if (k.kind === 'delayed' && recs.length) {
      const first = Math.min(...recs.map((r) => r.ms));
      if (first < job.timestamp + k.delay) list.push(`${id}: processed at ${first}, before ${job.timestamp} + ${k.delay}`);
    }
    if (k.kind === 'retried' || k.kind === 'failing') {
      for (let a = 1; a < wantAttempts; a++) {
        const prev = recs.filter((r) => r.attempt === a - 1).map((r) => r.ms);
        const cur = recs.filter((r) => r.attempt === a).map((r) => r.ms);
        if (prev.length && cur.length && Math.min(...cur) < Math.min(...prev) + BACKOFF_MS)
          list.push(`${id}: attempt ${a} at ${Math.min(...cur)}, within the backoff of attempt ${a - 1} at ${Math.min(...prev)}`);
      }
    }
  }
  return { list, repeats };
}

let phase = 'start';
const t0 = Date.now();
function setPhase(p) {
  phase = p;
  console.error(`[+${Date.now() - t0} ms] ${p}`);
}
const hardStop = setTimeout(() => {
  console.log(`FAILED: hard deadline, in phase "${phase}"`);
  if (errors.length) console.log(summarizeErrors());
  process.exit(2);
}, opt.deadline + 30000);
hardStop.unref();
main().then(() => process.exit(process.exitCode || 0), (err) => {
  console.log(`FAILED: ${err && err.stack}`);
  if (errors.length) console.log(summarizeErrors());
  process.exit(1);
});
