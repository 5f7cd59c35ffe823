import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { ConfigError, loadConfig, loadLogSettings } from '../../src/config.js';
import { createLogger, quietChild, rateLimitedWarn, type Logger } from '../../src/logger.js';

/** A JSON logger writing into an array of parsed lines. */
function capture(level: 'trace' | 'info' | 'warn' = 'info'): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ level, format: 'json' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, lines };
}

function throwsConfigError(fn: () => unknown, variable: string, expected: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.problems.length, 1, err.message);
    assert.ok(err.problems[0]!.startsWith(`${variable}: `), err.problems[0]);
    assert.match(err.problems[0]!, expected);
    return true;
  });
}

test('LOG_LEVEL: info by default, any pino level (case-insensitive), anything else names the variable', () => {
  assert.equal(loadConfig({}, false).log.level, 'info');
  assert.equal(loadConfig({ LOG_LEVEL: '' }, false).log.level, 'info');
  for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const) {
    assert.equal(loadConfig({ LOG_LEVEL: level }, false).log.level, level);
  }
  assert.equal(loadLogSettings({ LOG_LEVEL: ' DEBUG ' }, false).level, 'debug');
  throwsConfigError(() => loadConfig({ LOG_LEVEL: 'verbose' }), 'LOG_LEVEL', /expected one of trace, debug, info, warn, error, fatal, silent \(got "verbose"\)/);
  throwsConfigError(() => loadLogSettings({ LOG_LEVEL: 'warning' }), 'LOG_LEVEL', /\(got "warning"\)/);
});

test('LOG_FORMAT: pretty on a terminal, JSON elsewhere, unless set; anything else names the variable', () => {
  assert.equal(loadConfig({}, true).log.format, 'pretty');
  assert.equal(loadConfig({}, false).log.format, 'json');
  assert.equal(loadConfig({ LOG_FORMAT: 'json' }, true).log.format, 'json');
  assert.equal(loadConfig({ LOG_FORMAT: 'pretty' }, false).log.format, 'pretty');
  assert.deepEqual(loadLogSettings({ LOG_FORMAT: 'PRETTY', LOG_LEVEL: 'warn' }, false), { level: 'warn', format: 'pretty' });
  throwsConfigError(() => loadConfig({ LOG_FORMAT: 'text' }), 'LOG_FORMAT', /expected json or pretty \(got "text"\)/);
});

test('JSON lines: level names, ISO time, errors serialized, lines below the level dropped', () => {
  const { log, lines } = capture('info');
  log.debug('not shown');
  log.child({ component: 'db' }).warn({ err: new Error('connection terminated') }, 'idle database client lost its connection');
  assert.equal(lines.length, 1);
  const line = lines[0]!;
  assert.equal(line.level, 'warn');
  assert.equal(line.component, 'db');
  assert.equal(line.msg, 'idle database client lost its connection');
  assert.match(String(line.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal((line.err as { message: string }).message, 'connection terminated');
  assert.match((line.err as { stack: string }).stack, /connection terminated/);
});

test('pretty output is for people: no JSON', () => {
  const out: string[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => (out.push(String(chunk)), done()) });
  const log = createLogger({ level: 'info', format: 'pretty' }, sink);
  log.info({ taskQueue: 'q' }, 'worker polling');
  const text = out.join('');
  assert.match(text, /INFO.*worker polling/);
  assert.match(text, /taskQueue: "q"/);
  assert.throws(() => JSON.parse(text));
});

test('a quiet child is at warn unless its parent is quieter still', () => {
  assert.equal(quietChild(capture('trace').log, {}, 'warn').level, 'warn');
  assert.equal(quietChild(createLogger({ level: 'error', format: 'json' }, { write: () => undefined }), {}, 'warn').level, 'error');
  assert.equal(quietChild(createLogger({ level: 'silent', format: 'json' }, { write: () => undefined }), {}, 'warn').level, 'silent');
});

/** Fake setTimeout and Date for one test; the runner restores the real ones when it ends. */
function fakeTimers(t: TestContext) {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  return t.mock.timers;
}

test('rate-limited warn: the first error at once, repeats counted into one line per interval, none lost', (t) => {
  const timers = fakeTimers(t);
  const { log, lines } = capture();
  const warn = rateLimitedWarn(log.child({ component: 'redis' }), 10_000);

  warn(new Error('ECONNREFUSED 1'), 'Redis connection error');
  for (let i = 2; i <= 6; i++) {
    timers.tick(500);
    warn(new Error(`ECONNREFUSED ${i}`), 'Redis connection error');
  }
  assert.equal(lines.length, 1, 'repeats within the interval are held back');
  assert.equal(lines[0]!.suppressed, undefined);
  assert.equal((lines[0]!.err as { message: string }).message, 'ECONNREFUSED 1');

  timers.tick(7_499);
  assert.equal(lines.length, 1, 'not before the interval ends');
  timers.tick(1);
  assert.equal(lines.length, 2, 'the held-back repeats are reported when the interval ends');
  assert.equal(lines[1]!.suppressed, 5);
  assert.equal(lines[1]!.component, 'redis');
  assert.equal((lines[1]!.err as { message: string }).message, 'ECONNREFUSED 6', 'the latest of them');
  assert.match(String(lines[1]!.msg), /Redis connection error \(5 held back in the last 10 s\)/);

  // The summary counts as the interval's line: an error right after it waits for the next one.
  timers.tick(1_000);
  warn(new Error('ECONNREFUSED 7'), 'Redis connection error');
  assert.equal(lines.length, 2);
  timers.tick(9_000);
  assert.equal(lines.length, 3);
  assert.equal(lines[2]!.suppressed, 1);

  // A quiet spell: the next error is logged at once, with nothing held back.
  timers.tick(60_000);
  warn(new Error('ECONNREFUSED 8'), 'Redis connection error');
  assert.equal(lines.length, 4);
  assert.equal(lines[3]!.suppressed, undefined);
  assert.equal(lines[3]!.level, 'warn');
});

test('rate-limited warn: each source has its own interval; flush() reports what is held back at once', (t) => {
  const timers = fakeTimers(t);
  const { log, lines } = capture();
  const pool = rateLimitedWarn(log.child({ component: 'db', pool: 'live' }));
  const capacity = rateLimitedWarn(log.child({ component: 'db', pool: 'capacity' }));
  pool(new Error('terminated'), 'idle database client lost its connection');
  capacity(new Error('terminated'), 'idle database client lost its connection');
  pool(new Error('terminated'), 'idle database client lost its connection');
  pool(new Error('terminated'), 'idle database client lost its connection');
  assert.deepEqual(lines.map((l) => l.pool), ['live', 'capacity']);
  pool.flush();
  assert.equal(lines.length, 3);
  assert.equal(lines[2]!.pool, 'live');
  assert.equal(lines[2]!.suppressed, 2);
  timers.tick(10_000);
  assert.equal(lines.length, 3, 'flushed: nothing left for the timer');
  capacity.flush();
  assert.equal(lines.length, 3, 'nothing held back: flush writes nothing');
});

test('the Temporal bridge: SDK entries become pino lines with their ids as fields, without the task token', async () => {
  const { temporalLogger } = await import('../../src/worker.js');
  const { log, lines } = capture('info');
  const temporal = temporalLogger(log.child({ component: 'temporal' }));
  const meta = { sdkComponent: 'activity', workflowId: 'wf-1', activityId: '3', activityType: 'populateCapacityBatch', attempt: 1, taskToken: 'Ci…' };
  temporal.info('capacity batch written', { ...meta, rows: 1000 });
  temporal.debug('Activity completed', meta);
  temporal.info('asset workflow-bundle-abc.js 1.94 MiB [emitted]\nruntime modules 587 bytes', { sdkComponent: 'worker' });
  temporal.warn('Activity failed', meta);
  assert.deepEqual(lines.map((l) => [l.level, l.msg]), [['info', 'capacity batch written'], ['warn', 'Activity failed']]);
  assert.equal(lines[0]!.workflowId, 'wf-1');
  assert.equal(lines[0]!.activityId, '3');
  assert.equal(lines[0]!.rows, 1000);
  assert.equal(lines[0]!.component, 'temporal');
  assert.equal(lines[0]!.taskToken, undefined);
});
