/** CLI commands for the search API under test: serve it, and validate its rate limiter. */
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import type { Config } from '../config.js';
import { startApiServer } from '../api/server.js';
import { logger } from '../logger.js';
import { RATE_LIMIT_VALIDATION_FAST, rateLimitValidation, type RateLimitValidationInput, type RateLimitValidationResult } from '../workflows/rate-limit-validation.js';
import { textTable } from './format.js';
import { CLI_RANGES, commandGroup, intOption, waitWorkerOption } from './parse.js';
import { runWorkflowCommand } from './run-workflow.js';

export function formatRateLimitValidation(r: RateLimitValidationResult): string {
  const s = r.settings;
  const table = textTable(
    ['#', 'check', 'result', 'expected', 'observed'],
    r.checks.map((c) => [String(c.id), c.name, c.passed ? 'PASS' : 'FAIL', c.expected, c.observed]),
  );
  const cleanup = !r.cleanup
    ? `test users kept (e-mails start with ${r.emailPrefix})`
    : 'error' in r.cleanup
      ? `cleanup failed: ${r.cleanup.error}`
      : `cleanup: ${r.cleanup.usersDeleted} test users and ${r.cleanup.keysDeleted} bucket keys deleted`;
  return [
    `rate-limit validation against ${r.baseUrl} (API ${r.apiSource}): ${s.readLimit} reads / ${s.writeLimit} writes per minute, ` +
      `${s.refillWaitSeconds} s refill wait, ${s.agentSessions}×${s.agentSessionSeconds} s agent sessions, ${s.manyUsers} users at once`,
    '',
    table,
    '',
    `${r.counts.pass} pass, ${r.counts.fail} fail; ${r.users} test users; ${cleanup}; ${r.seconds} s`,
    r.passed ? 'verdict: PASS' : 'verdict: FAIL',
  ].join('\n');
}

export function registerApiCommands(program: CommandUnknownOpts, config: () => Config): void {
  program
    .command('api')
    .description('serve the CommonTrace search API (register, search, contribute, /healthz, /metrics) until Ctrl-C')
    .option('--host <host>', 'interface to listen on (default API_HOST)')
    .option('--port <n>', 'port to listen on (default API_PORT)', intOption('--port', CLI_RANGES.port))
    .action(async (opts) => {
      const cfg = config();
      // Served on its own, the API logs at LOG_LEVEL (request lines at info).
      const log = logger.child({ component: 'api' });
      const api = await startApiServer(cfg, { host: opts.host, port: opts.port, logger: log });
      const { readPerMinute, writePerMinute, failMode } = cfg.rateLimit;
      log.info(
        { url: api.url, readPerMinute, writePerMinute, failMode },
        `CommonTrace API on ${api.url}: ${readPerMinute} reads / ${writePerMinute} writes per minute per user, fail-${failMode}; Ctrl-C stops it`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => void api.close().then(resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });

  const ratelimit = commandGroup(program, 'ratelimit', 'the Redis token-bucket rate limiter');
  ratelimit
    .command('validate')
    .description('burst, exhaustion, refill, independence, write-bucket, agent-pattern and many-user checks (rateLimitValidation workflow); exit 1 if any fails')
    .option('--base-url <url>', 'the API to test (default: the worker serves one on API_HOST:API_PORT)')
    .option('--fast', 'short waits (3 s refill, 3 s agent sessions, 10 users) instead of the launch defaults (10 s, 30 s, 20)')
    .option('--read-limit <n>', 'reads per minute the API should allow (default RATE_LIMIT_READ_PER_MINUTE)', intOption('--read-limit', CLI_RANGES.rateLimitPerMinute))
    .option('--write-limit <n>', 'writes per minute the API should allow (default RATE_LIMIT_WRITE_PER_MINUTE)', intOption('--write-limit', CLI_RANGES.rateLimitPerMinute))
    .option('--no-cleanup', 'keep the test users and their contributions')
    .option('--json', 'print the result as JSON')
    .addOption(waitWorkerOption())
    .action(async (opts) => {
      const cfg = config();
      if (opts.baseUrl !== undefined) {
        try {
          new URL(opts.baseUrl);
        } catch {
          throw new Error(`--base-url expects a URL like http://127.0.0.1:8787, got "${opts.baseUrl}"`);
        }
      }
      const input: RateLimitValidationInput = {
        ...(opts.fast && RATE_LIMIT_VALIDATION_FAST),
        ...(opts.baseUrl && { baseUrl: opts.baseUrl }),
        readLimit: opts.readLimit ?? cfg.rateLimit.readPerMinute,
        writeLimit: opts.writeLimit ?? cfg.rateLimit.writePerMinute,
        cleanup: opts.cleanup,
      };
      process.exitCode = await runWorkflowCommand(cfg, {
        workflow: rateLimitValidation,
        idPrefix: 'rate-limit-validation',
        input: input,
        staticSummary: `Rate-limit validation${opts.fast ? ' (fast)' : ''} against ${opts.baseUrl ?? 'the worker-served API'}`,
        json: opts.json,
        waitWorker: opts.waitWorker,
        format: formatRateLimitValidation,
        exitCode: (r) => (r.passed ? 0 : 1),
      });
    });
}
