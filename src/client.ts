#!/usr/bin/env node
/**
 * The operator CLI: starts workflows on the cluster, follows them and prints their reports.
 * Exit codes: 0 success, 1 the check or launch said no, 2 usage or environment error.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { loadConfig, type Config } from './config.js';
import { connectClient, workflowUiUrl } from './temporal.js';
import { assertWorkerPolling } from './cli/worker-check.js';
import { textTable } from './cli/format.js';
import type { PreflightReport } from './workflows/messages.js';

export function formatPreflight(report: PreflightReport): string {
  const rows = report.checks.map((c) => [c.name, c.status.toUpperCase(), c.value, c.detail]);
  const { pass, warn, fail } = report.counts;
  return `${textTable(['check', 'status', 'value', 'detail'], rows)}\n\n${pass} pass, ${warn} warn, ${fail} fail`;
}

interface PreflightOptions {
  json?: boolean;
  traces?: number;
  waitWorker?: number;
}

async function runPreflight(config: Config, opts: PreflightOptions): Promise<number> {
  const client = await connectClient(config);
  try {
    await assertWorkerPolling(client, config.temporal.namespace, config.temporal.taskQueue, opts.waitWorker);
    const workflowId = `preflight-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    const handle = await client.workflow.start('preflight', {
      taskQueue: config.temporal.taskQueue,
      workflowId,
      args: [{ ...(opts.traces !== undefined && { targetTraces: opts.traces }) }],
      staticSummary: 'Preflight: PostgreSQL, pgvector, Redis, embedder and Temporal checks',
    });
    if (!opts.json) console.error(`preflight ${workflowId} started — ${workflowUiUrl(config, workflowId, handle.firstExecutionRunId)}`);
    const report = (await handle.result()) as PreflightReport;
    console.log(opts.json ? JSON.stringify({ workflowId, ...report }, null, 2) : formatPreflight(report));
    return report.ok ? 0 : 1;
  } finally {
    await client.connection.close();
  }
}

export function buildProgram(config: () => Config): Command {
  const program = new Command()
    .name('commontrace-launch')
    .description('Launch-readiness workflows for CommonTrace, on Temporal')
    .showHelpAfterError();

  program
    .command('preflight')
    .description('check PostgreSQL/pgvector, Redis, the embedder and Temporal; exit 1 on any fail')
    .option('--json', 'print the report as JSON')
    .option('--traces <n>', 'capacity the memory checks size for (default 100000)', (v) => parsePositiveInt(v, '--traces'))
    .option('--wait-worker <seconds>', 'wait this long for a worker to start polling', (v) => parsePositiveInt(v, '--wait-worker'), 0)
    .action(async (opts: PreflightOptions) => {
      process.exitCode = await runPreflight(config(), opts);
    });

  return program;
}

function parsePositiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} expects a positive integer, got "${value}"`);
  return n;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildProgram(() => loadConfig())
    .parseAsync(process.argv)
    .catch((err: Error) => {
      console.error(`error: ${err.message}`);
      process.exit(2);
    });
}
