import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { compareReports } from '../../src/benchmark/compare.js';
import { saveBenchmarkRun, loadBenchmarkRun, RunNotFoundError } from '../../src/benchmark/store.js';
import { formatComparison, searchBenchmarkInput } from '../../src/cli/benchmark.js';
import { benchmarkReportSchema, parseReport } from '../../src/report/schema.js';
import { writeReportFiles } from '../../src/report/write.js';
import { baseConfig, uniqueName } from '../helpers/config.js';
import { closeTestPool, testPool } from '../helpers/db.js';
import { regressed, runBenchCli, sampleReport } from '../helpers/bench.js';

let dir: string;
const stored: string[] = [];

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'report-test-'));
});

after(async () => {
  await testPool().query('DELETE FROM benchmark_runs WHERE name = ANY($1)', [stored]);
  await closeTestPool();
  await rm(dir, { recursive: true, force: true });
});

const bench = (args: string[]) => runBenchCli(baseConfig, args);

test('report files are written: JSON valid against the schema, Markdown tables, self-contained HTML with four SVG charts', async () => {
  const report = sampleReport('run-a');
  const files = await writeReportFiles(report, dir);
  assert.equal(files.dir, path.join(dir, 'run-a'));
  for (const f of [files.json, files.markdown, files.html, files.csv]) assert.ok((await stat(f)).size > 0, f);

  const json = JSON.parse(await readFile(files.json, 'utf8'));
  assert.equal(benchmarkReportSchema.safeParse(json).success, true);
  assert.deepEqual(parseReport(json, 'report.json'), report);

  const md = await readFile(files.markdown, 'utf8');
  assert.match(md, /^# Search benchmark run-a/);
  // ef_search, recall mean, recall = 0, re-rank recall, widened, uncertified, p50, p95, p99.
  assert.match(md, /\| 64 \(prod\) \| 0\.972 \| 1\.2% \| 0\.992 \| 1\.0% \| 0\.0% \| 7\.20 \| [\d.]+ \| 10\.03 \|/);
  assert.match(md, /\| 200: 9000 \|$/m, 'status-code histogram');
  assert.match(md, /## HTTP load \(search API, end to end\): latency by stage/);
  assert.match(md, /\| db \| 5\.00 \|/);

  const html = await readFile(files.html, 'utf8');
  assert.equal((html.match(/<svg[\s>]/g) ?? []).length, 4);
  for (const id of ['latency-cdf', 'qps-concurrency', 'recall-p99', 'load-over-time']) assert.ok(html.includes(`<figure id="chart-${id}">`), id);
  // The time-series chart names its phases: the concurrency levels and the HTTP load.
  assert.ok(html.includes('SQL search, 8 clients') && html.includes('HTTP load (closed-loop, 10 users)'), 'phase legend rendered into the SVG');
  // The charts carry the data: ef_search legend entries and the concurrency labels.
  assert.ok(html.includes('ef_search 200') && html.includes('364 QPS') && html.includes('p99 20.0 ms'), 'chart labels rendered into the SVG');
  assert.ok(html.includes('<td>10.03</td>') && html.includes('<td>0.972</td>'), 'the figures are in the tables');
  assert.ok(html.includes('class="verdict pass"'));
  assert.ok(!/<script|src="http|href="http/i.test(html), 'self-contained');
});

test('timeseries.csv: a header, then one row per time window of every load phase', async () => {
  const files = await writeReportFiles(sampleReport('run-ts'), dir);
  assert.equal(files.csv, path.join(dir, 'run-ts', 'timeseries.csv'));
  const lines = (await readFile(files.csv, 'utf8')).split('\n');
  assert.equal(lines.pop(), '', 'ends with a newline');
  assert.equal(lines[0], 'phase,statement_or_mode,clients_or_users,window_start_s,window_s,count,errors,qps,p50_ms,p99_ms');
  // 4 concurrency levels × 2 windows, 2 throughput rounds × (search, raw) × 1 window, HTTP 6 windows; no ceiling.
  assert.equal(lines.length - 1, 8 + 4 + 6);
  assert.deepEqual(lines.slice(1, 3), ['concurrency,search,1,0,5,7000,0,1400,7,10', 'concurrency,search,1,5,5,7000,0,1400,7,10']);
  assert.ok(lines.includes('throughput-round-1,raw,2,0,5,1500,0,300,6.5,8.5'));
  assert.equal(lines.at(-1), 'http,closed-loop,10,25,5,1500,0,300,15,24.5');
});

test('a phase whose p99 drifts is named in a drift table and marked RISING; steady phases are not', async () => {
  const steady = await readFile((await writeReportFiles(sampleReport('run-steady'), dir)).markdown, 'utf8');
  assert.doesNotMatch(steady, /Latency drift/);
  assert.doesNotMatch(steady, /RISING/);

  const report = sampleReport('run-drift');
  const reason = 'p99 rose from 12.00 ms (first 2 windows) to 30.00 ms (last 2 windows), 1.26 ms per second over 6 windows of 5 s: the queue grew during the phase';
  const p99s = [12, 13, 15, 20, 30, 45];
  report.http = {
    ...report.http!,
    windows: p99s.map((p99, i) => ({ startSeconds: i * 5, seconds: 5, count: 1500, errors: 0, qps: 300, p50: 10, p99 })),
    drift: { drifting: true, reason },
  };
  const md = await readFile((await writeReportFiles(report, dir)).markdown, 'utf8');
  assert.match(md, /## Latency drift: p99 rose during the phase/);
  assert.ok(md.includes(`| HTTP load (closed-loop, 10 users) | ${reason} |`), md);
  assert.match(md, /\| 24\.50 \| 31\.85 \| 39\.20 \| RISING \| 200: 9000 \|/);
  // Two windows per concurrency level: too few to call a trend.
  assert.match(md, /\| search \| 8 \| 364\.0 \| 28\.00 \| 40\.00 \| 64\.00 \| 28000 \| 0 \| — \|/);
});

test('a report that breaks the schema is refused before anything is written', async () => {
  const bad = { ...sampleReport('run-bad'), serial: [] };
  await assert.rejects(writeReportFiles(bad, dir), /not a valid benchmark report: serial/);
  await assert.rejects(stat(path.join(dir, 'run-bad')), { code: 'ENOENT' });
  const noRecall = sampleReport('run-bad2');
  (noRecall.serial[0]!.recall as { mean: number }).mean = 1.5;
  assert.throws(() => parseReport(noRecall, 'x'), /serial\.0\.recall\.mean/);
  // The time windows are required of every load phase.
  const noWindows = sampleReport('run-bad3');
  delete (noWindows.concurrency[0] as Partial<(typeof noWindows.concurrency)[number]>).windows;
  assert.throws(() => parseReport(noWindows, 'x'), /concurrency\.0\.windows/);
});

test('compare flags a constructed p99 regression above 20% and a recall drop above 0.02, and nothing within the limits', () => {
  const a = sampleReport('night-1');
  const worse = compareReports(a, regressed(a, 'night-2', 1.25, -0.03));
  assert.deepEqual(worse.regressions.map((r) => r.metric), ['serial p99 ms @ ef_search 64', 'recall@10 mean @ ef_search 64']);
  assert.match(worse.regressions[0]!.flag!, /p99 regression \+25\.0% \(limit 20%\)/);
  assert.match(worse.regressions[1]!.flag!, /recall drop 0\.030 \(limit 0\.02\)/);

  const within = compareReports(a, regressed(a, 'night-2', 1.19, -0.019));
  assert.deepEqual(within.regressions, []);
  const better = compareReports(a, regressed(a, 'night-2', 0.5, 0.02));
  assert.deepEqual(better.regressions, []);

  const text = formatComparison(worse);
  assert.match(text, /serial p99 ms @ ef_search 64\s+10\.03\s+12\.54\s+\+2\.51 \(\+25\.0%\)\s+p99 regression/);
  assert.match(text, /2 regression\(s\)/);
});

test('compare names what makes two runs incomparable', () => {
  const a = sampleReport('night-1');
  const b = sampleReport('night-2', { dataset: { ...a.dataset, traceCount: 20_000 } });
  assert.ok(compareReports(a, b).caveats.some((c) => /searchable vectors differs: 100000 → 20000/.test(c)));
});

test('bench report prints a stored run and bench report --compare exits 1 on a constructed regression', async () => {
  const a = sampleReport(uniqueName('bench-report-a'));
  const b = regressed(a, uniqueName('bench-report-b'), 1.5, -0.05);
  const c = regressed(a, uniqueName('bench-report-c'), 1.05, 0);
  for (const r of [a, b, c]) {
    await saveBenchmarkRun(testPool(), r);
    stored.push(r.name);
  }
  // Stored again under the same name: an update, not a second row.
  await saveBenchmarkRun(testPool(), { ...a, verdict: 'fail' });
  assert.equal((await loadBenchmarkRun(testPool(), a.name)).verdict, 'fail');
  assert.equal((await loadBenchmarkRun(testPool(), a.runId)).name, a.name);
  await assert.rejects(loadBenchmarkRun(testPool(), 'no-such-run'), RunNotFoundError);

  const shown = await bench(['report', b.name]);
  assert.equal(shown.code, 0);
  assert.ok(shown.out.startsWith(`PASS — ${b.name}: 100000 × 1536 vectors; SQL p99 15.04 ms`), shown.out.slice(0, 200));
  assert.match(shown.out, /Concurrency sweep at ef_search 64/);

  const flagged = await bench(['report', '--compare', a.name, b.name]);
  assert.equal(flagged.code, 1);
  assert.match(flagged.out, /p99 regression \+50\.0%/);
  assert.match(flagged.out, /recall drop 0\.050/);

  const fine = await bench(['report', '--compare', a.name, c.name]);
  assert.equal(fine.code, 0, fine.out);
  assert.match(fine.out, /no regressions/);

  const strict = await bench(['report', '--compare', a.name, c.name, '--p99-regression-pct', '4']);
  assert.equal(strict.code, 1);

  // A report.json path works as a run reference too (e.g. a report copied from another machine).
  const file = path.join(dir, 'other.json');
  await writeFile(file, JSON.stringify(regressed(a, 'elsewhere', 1.3, 0)));
  const fromFile = await bench(['report', '--compare', a.name, file, '--json']);
  assert.equal(fromFile.code, 1);
  assert.equal(JSON.parse(fromFile.out).regressions.length, 1);
});

test('bench search options become the workflow input (HTTP only when asked for)', () => {
  assert.deepEqual(searchBenchmarkInput({ prewarm: true, waitWorker: 0 }), { prewarm: true });
  const input = searchBenchmarkInput({
    prewarm: false, waitWorker: 0, efSearch: [40, 64], total: 5000, sqlP99Ms: 0.001, httpUsers: 3, http: true, queries: 200,
  });
  assert.deepEqual(input, {
    efSearch: [40, 64], queryCount: 200, prewarm: false, dataset: { total: 5000 }, thresholds: { sqlP99Ms: 0.001 }, http: { users: 3 },
  });
  assert.deepEqual(searchBenchmarkInput({ prewarm: true, waitWorker: 0, httpUrl: 'http://x:1' }).http, { baseUrl: 'http://x:1' });
  // --http-rate 0 is the closed loop (null); any other rate stays an open loop.
  assert.deepEqual(searchBenchmarkInput({ prewarm: true, waitWorker: 0, http: true, httpRate: 0 }).http, { ratePerUser: null });
  assert.deepEqual(searchBenchmarkInput({ prewarm: true, waitWorker: 0, http: true, httpRate: 2 }).http, { ratePerUser: 2 });
});

test('the raw floor table sets the service beside pgvector alone, with the targets', async () => {
  const md = await readFile((await writeReportFiles(sampleReport('run-raw'), dir)).markdown, 'utf8');
  assert.match(md, /## Raw floor: the service against pgvector alone/);
  assert.match(md, /\| serial p99 \(ms\) \| 10\.03 \| 8\.50 \| 1\.18 \| ≤ 1\.30 \|/);
  assert.match(md, /\| QPS at 2 clients \(median of 1 rounds\) \| 280\.0 \| 310\.0 \| 0\.90 \| ≥ 0\.80 \|/);
  assert.match(md, /## Raw floor throughput rounds/);
  assert.match(md, /\| 2 \| 1 \| search \| 280\.0 \| 310\.0 \| 0\.90 \|/);
  assert.match(md, /\| API ceiling QPS \(closed loop\) \| — \| {2}\| — \|/);
});
