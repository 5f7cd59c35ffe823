import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseServerTiming } from '../../../src/benchmark/harness/server-timing.js';
import { HARNESS_LIMITS, harnessReport, judgeHarness, unionSeconds, type HarnessMeasurements } from '../../../src/benchmark/harness/judge.js';
import { harnessProcesses, spreadLanes } from '../../../src/benchmark/harness/lanes.js';
import { HttpTally, mergeTallies } from '../../../src/benchmark/harness/http-tally.js';
import { HarnessChildError, runInChildren, stopIdleChildren } from '../../../src/benchmark/harness/run-child.js';
import type { ChildLoad } from '../../../src/benchmark/harness/job.js';
import { summarizeLatency } from '../../../src/benchmark/stats.js';
import { crashingJob, echoJob, endlessJob, failingJob, misnamedJob } from './harness-jobs.js';
import { harnessChildren } from '../../helpers/harness-children.js';

const timings = (header: Parameters<typeof parseServerTiming>[0]) => Object.fromEntries(parseServerTiming(header));

test('Server-Timing: the API header parses into durations by stage, in order', () => {
  const parsed = parseServerTiming('auth;dur=0.12, limit;dur=0.40, embed;dur=0.30, db;dur=3.10, rerank;dur=0.01');
  assert.deepEqual([...parsed], [['auth', 0.12], ['limit', 0.4], ['embed', 0.3], ['db', 3.1], ['rerank', 0.01]]);
});

test('Server-Timing: no header, an empty one or garbage give no stages', () => {
  for (const header of [undefined, null, '', '   ', ',,;', 'not a header at all', '"quoted";dur=1']) assert.deepEqual(timings(header), {}, String(header));
});

test('Server-Timing: metrics without a usable duration are skipped, unknown metrics and parameters kept or ignored', () => {
  assert.deepEqual(timings('cache;desc="hit", db;dur=2, miss, cpu;dur=abc, gc;dur=-1, queue;dur='), { db: 2 });
  assert.deepEqual(timings('custom-stage;dur=1.5;desc=x, db;desc="a";dur=2'), { 'custom-stage': 1.5, db: 2 });
  assert.deepEqual(timings('DB;DUR=4'), { DB: 4 });
  assert.deepEqual(timings('db;dur="2.5"'), { db: 2.5 });
  // The first dur of a metric counts.
  assert.deepEqual(timings('db;dur=1;dur=9'), { db: 1 });
});

test('Server-Timing: commas and semicolons inside quoted descriptions do not split metrics', () => {
  assert.deepEqual(timings('db;desc="pgvector, warm; \\"hnsw\\"";dur=3, embed;dur=0.5'), { db: 3, embed: 0.5 });
});

test('Server-Timing: several header lines read as one, and a repeated metric adds up', () => {
  assert.deepEqual(timings(['auth;dur=0.5', 'db;dur=1, db;dur=2']), { auth: 0.5, db: 3 });
  assert.deepEqual(timings('db;dur=1, db;dur=2'), { db: 3 });
});

const quiet: HarnessMeasurements = { cpuShare: 0.3, eventLoopDelayP99Ms: 2, scheduleLagP99Ms: 1, intervalMs: 200 };

test('judgeHarness: a harness well within every limit is valid', () => {
  assert.deepEqual(judgeHarness(quiet), { saturated: false, reason: null });
  assert.deepEqual(judgeHarness({ ...quiet, scheduleLagP99Ms: null, intervalMs: null }), { saturated: false, reason: null });
});

test('judgeHarness: each limit trips on its own, at the limit, and is named', () => {
  const cases: [Partial<HarnessMeasurements>, RegExp][] = [
    [{ cpuShare: 0.9 }, /^busiest harness process used 0\.9 of a core \(limit 0\.9\)$/],
    [{ cpuShare: 0.6, eventLoopDelayP99Ms: 20 }, /^harness event-loop delay p99 20 ms \(limit 20 ms\)$/],
    [{ cpuShare: 0.6, scheduleLagP99Ms: 10 }, /^open-loop schedule lag p99 10 ms \(limit 10 ms\)$/],
    // 4 ms is under the 10 ms limit but half of an 8 ms interval (125 req/s per user).
    [{ cpuShare: 0.6, scheduleLagP99Ms: 4, intervalMs: 8 }, /^open-loop schedule lag p99 4 ms is 0\.5 of the 8 ms send interval \(limit 0\.5\)$/],
    // Late callbacks in a mostly idle harness: the host, not the harness, is named as the cause.
    [{ cpuShare: 0.3, eventLoopDelayP99Ms: 40 }, /^harness event-loop delay p99 40 ms \(limit 20 ms\); the harness itself used only 0\.3 of a core, so the host's CPUs were contended$/],
  ];
  for (const [change, reason] of cases) {
    const verdict = judgeHarness({ ...quiet, ...change });
    assert.equal(verdict.saturated, true, JSON.stringify(change));
    assert.match(verdict.reason ?? '', reason);
  }
  assert.equal(judgeHarness({ ...quiet, cpuShare: 0.89, eventLoopDelayP99Ms: 19.9, scheduleLagP99Ms: 9.9, intervalMs: 20 }).saturated, false);
});

test('judgeHarness: several limits crossed are all named; the limits can be passed in', () => {
  const verdict = judgeHarness({ cpuShare: 1.2, eventLoopDelayP99Ms: 45, scheduleLagP99Ms: 30, intervalMs: 40 });
  assert.equal(verdict.reason?.split('; ').length, 4, verdict.reason ?? '');
  assert.doesNotMatch(verdict.reason ?? '', /contended/);
  assert.deepEqual(judgeHarness(quiet, { ...HARNESS_LIMITS, cpuShare: 0.25 }).saturated, true);
});

function load(cpuShare: number, eventLoopDelayP99Ms: number, startedAt: number, endedAt: number): ChildLoad {
  return { pid: 1, cpuMs: cpuShare * (endedAt - startedAt), wallMs: endedAt - startedAt, cpuShare, eventLoopDelayP99Ms, startedAt, endedAt };
}

test('harnessReport: the busiest child counts, for CPU and event-loop delay separately; the window spans all children', () => {
  const loads = [load(0.95, 1, 1_000, 11_000), load(0.2, 25, 1_010, 11_500)];
  const report = harnessReport(loads);
  assert.equal(report.processes, 2);
  assert.equal(report.cpuShare, 0.95);
  assert.equal(report.eventLoopDelayP99Ms, 25);
  assert.equal(report.scheduleLagP99Ms, null);
  assert.equal(report.saturated, true);
  assert.match(report.reason ?? '', /0\.95 of a core.*event-loop delay p99 25 ms/);
  assert.equal(unionSeconds(loads), 10.5);
  assert.deepEqual(harnessReport([load(0.1, 1, 0, 1_000)], { scheduleLagP99Ms: 2, intervalMs: 100 }).scheduleLagP99Ms, 2);
});

test('lanes: at most one process per lane, dealt round-robin, none empty', () => {
  assert.equal(harnessProcesses(1, 4), 1);
  assert.equal(harnessProcesses(16, 2), 2);
  assert.equal(harnessProcesses(64), Math.min(64, availableParallelism()));
  assert.deepEqual(spreadLanes(5, 2), [[0, 2, 4], [1, 3]]);
  assert.deepEqual(spreadLanes(2, 4), [[0], [1]]);
  assert.deepEqual(spreadLanes(1, 1), [[0]]);
});

test('HTTP tally: stages, server and outside from Server-Timing; non-2xx and errors stay out of the latencies', () => {
  const a = new HttpTally({ scheduled: false });
  a.response(200, 10, 'auth;dur=1, db;dur=5');
  a.response(200, 8, null);
  a.response(429, 1, 'auth;dur=1');
  const b = new HttpTally({ scheduled: true });
  b.response(200, 20, 'auth;dur=2, db;dur=14, rerank;dur=1');
  b.transportError(true);
  b.transportError(false);
  b.lag(3);
  // Clocks that disagree by rounding: the outside share never goes negative.
  b.response(201, 4, 'db;dur=4.5');
  const m = mergeTallies([a.snapshot(), b.snapshot()]);
  assert.deepEqual({ ok: m.ok, non2xx: m.non2xx, errors: m.errors, timeouts: m.timeouts }, { ok: 4, non2xx: 1, errors: 2, timeouts: 1 });
  assert.deepEqual(m.statusCodes, { '200': 3, '201': 1, '429': 1 });
  assert.equal(m.latency.totalCount, 4);
  assert.deepEqual([...m.stages.keys()], ['auth', 'db', 'server', 'outside', 'rerank'].sort((x, y) => order(x) - order(y)));
  const s = Object.fromEntries([...m.stages].map(([k, h]) => [k, summarizeLatency(h)]));
  assert.equal(s.auth!.count, 2);
  assert.equal(s.db!.count, 3);
  assert.equal(s.rerank!.count, 1);
  assert.equal(s.server!.count, 3);
  assert.equal(s.server!.max, 17);
  assert.equal(s.server!.min, 4.5);
  // outside = latency − server: 10 − 6, 20 − 17, and 4 − 4.5 → 0 (recorded as the 1 µs floor).
  assert.equal(s.outside!.max, 4);
  assert.equal(s.outside!.min, 0.001);
  assert.equal(summarizeLatency(m.scheduleLag).count, 1);
  assert.equal(summarizeLatency(m.scheduleLag).max, 3);
});

const order = (stage: string) => ['auth', 'db', 'rerank', 'server', 'outside'].indexOf(stage);

test('HTTP tally: responses without Server-Timing leave no stages', () => {
  const t = new HttpTally({ scheduled: false });
  t.response(200, 5, undefined);
  t.response(200, 5, 'cache;desc=hit');
  assert.equal(mergeTallies([t.snapshot()]).stages.size, 0);
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('runInChildren: each input runs in its own process; Buffers and progress come back; the next run reuses the idle children until they are stopped', async () => {
  const seen: number[][] = [[], []];
  const runs = await runInChildren(echoJob, [{ payload: Buffer.from([1, 2, 3]), progress: [1, 2, 3] }, { payload: Buffer.from('x'), progress: [7] }], {
    label: 'echo',
    onProgress: (child, n) => seen[child]!.push(n),
  });
  assert.deepEqual(runs.map((r) => [...r.result.payload]), [[1, 2, 3], [120]]);
  assert.deepEqual(runs.map((r) => r.result.isBuffer), [true, true]);
  assert.equal(new Set([...runs.map((r) => r.result.pid), process.pid]).size, 3);
  assert.deepEqual(seen.map((s) => s.at(-1)), [3, 7]);
  for (const r of runs) {
    assert.equal(r.load.pid, r.result.pid);
    assert.ok(r.load.wallMs > 0 && r.load.cpuMs >= 0 && r.load.eventLoopDelayP99Ms >= 0, JSON.stringify(r.load));
    assert.ok(r.load.endedAt > r.load.startedAt);
  }
  const pids = runs.map((r) => r.result.pid).sort();
  assert.deepEqual(harnessChildren().sort(), pids, 'the finished children wait for the next job');

  // Three inputs: the two idle children and one new process, each job in a process of its own.
  const again = await runInChildren(echoJob, [1, 2, 3].map((n) => ({ payload: Buffer.from([n]), progress: [n] })), { label: 'echo-again' });
  assert.deepEqual(again.map((r) => [...r.result.payload]), [[1], [2], [3]]);
  const againPids = again.map((r) => r.result.pid);
  assert.equal(new Set(againPids).size, 3);
  assert.deepEqual(againPids.filter((pid) => pids.includes(pid)).sort(), pids, 'both idle children ran a job again');
  assert.deepEqual(harnessChildren().sort(), [...againPids].sort());

  await stopIdleChildren();
  assert.deepEqual(harnessChildren(), []);
  for (const pid of againPids) assert.equal(alive(pid), false);
});

test('runInChildren: idle children stop by themselves after keepIdleMs (at once with 0)', async () => {
  for (const keepIdleMs of [0, 50]) {
    const [run] = await runInChildren(echoJob, [{ payload: Buffer.from('idle'), progress: [] }], { label: `idle-${keepIdleMs}`, keepIdleMs });
    for (let polls = 0; alive(run!.result.pid); polls++) {
      assert.ok(polls < 600, `child ${run!.result.pid} still alive after ${polls} polls (keepIdleMs ${keepIdleMs})`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(harnessChildren(), []);
  }
});

test('idle children do not keep their parent alive: it exits on its own and the children go with it', async () => {
  const { childPid, code } = await runParent('idle');
  assert.equal(code, 0, 'the parent exited by itself (null: it was still running after a minute and was killed)');
  while (alive(childPid)) await new Promise((r) => setTimeout(r, 50));
  assert.equal(alive(childPid), false);
});

test('runInChildren: an error thrown by a job is a HarnessChildError naming it', async () => {
  await assert.rejects(runInChildren(failingJob, [undefined], { label: 'failing' }), (err: unknown) => {
    assert.ok(err instanceof HarnessChildError);
    assert.match(err.message, /^harness child failing#0 \(pid \d+\) failed: RangeError: no such lane$/);
    assert.match(err.childStack ?? '', /no such lane/);
    return true;
  });
  assert.deepEqual(harnessChildren(), []);
});

test('runInChildren: a child that dies without a result is an error with the end of its output', async () => {
  await assert.rejects(runInChildren(crashingJob, [undefined], { label: 'crashing' }), (err: unknown) => {
    assert.ok(err instanceof HarnessChildError);
    assert.match(err.message, /harness child crashing#0 \(pid \d+\) exited \(code 3\) before finishing; its output ended with:\nlane 3 lost its connection/);
    return true;
  });
  await assert.rejects(runInChildren(misnamedJob, [undefined], { label: 'misnamed' }), /exports no harness job named someOtherName \(a job's defineJob name must be its export name\)/);
  assert.deepEqual(harnessChildren(), []);
});

test('runInChildren: aborting kills every child and rejects with the signal reason', async () => {
  const controller = new AbortController();
  const pids = new Set<number>();
  const run = runInChildren(endlessJob, [undefined, undefined], {
    label: 'endless',
    signal: controller.signal,
    onProgress: (_child, pid) => {
      pids.add(pid);
      if (pids.size === 2) controller.abort(new Error('cancelled by the test'));
    },
  });
  await assert.rejects(run, /cancelled by the test/);
  assert.equal(pids.size, 2);
  for (const pid of pids) assert.equal(alive(pid), false, `child ${pid} is gone`);
  assert.deepEqual(harnessChildren(), []);
  await assert.rejects(runInChildren(endlessJob, [undefined], { label: 'late', signal: controller.signal }), /cancelled by the test/);
});

const IDLE_PARENT_EXIT_LIMIT_MS = 60_000;

/** Starts harness-parent.ts in `mode`; resolves with the child pid it prints and, in 'idle' mode, its exit code. */
async function runParent(mode: 'endless' | 'idle'): Promise<{ childPid: number; code: number | null; parent: ReturnType<typeof spawn> }> {
  const parent = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./harness-parent.ts', import.meta.url)), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => parent.once('exit', resolve));
  const childPid = await new Promise<number>((resolve, reject) => {
    let out = '';
    parent.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /CHILD (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    void exited.then((code) => reject(new Error(`the parent exited (${code}) before its child reported`)));
  });
  if (mode === 'endless') return { childPid, parent, code: null };
  // A parent kept alive by its idle child would never exit: after a minute (it takes ~2 s) it is
  // killed, and the test fails on its exit code instead of hanging until the runner's timeout.
  const stuck = setTimeout(() => parent.kill('SIGKILL'), IDLE_PARENT_EXIT_LIMIT_MS);
  const code = await exited;
  clearTimeout(stuck);
  return { childPid, parent, code };
}

test('a child whose parent is killed (no clean-up at all) exits by itself', async () => {
  const { childPid, parent } = await runParent('endless');
  assert.equal(alive(childPid), true);
  const exited = new Promise((resolve) => parent.once('exit', resolve));
  parent.kill('SIGKILL');
  await exited;
  while (alive(childPid)) await new Promise((r) => setTimeout(r, 50));
  assert.equal(alive(childPid), false);
});
