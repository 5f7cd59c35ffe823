#!/usr/bin/env node
/**
 * The operator CLI: starts workflows on the cluster, follows them and prints their reports.
 * Exit codes: 0 success, 1 the check or launch said no, 2 usage or environment error.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from '@commander-js/extra-typings';
import { loadConfig, type Config } from './config.js';
import { logger } from './logger.js';
import { textTable } from './cli/format.js';
import { CLI_RANGES, intOption, newProgram, waitWorkerOption } from './cli/parse.js';
import { runWorkflowCommand } from './cli/run-workflow.js';
import { registerColdStartCommands } from './cli/cold-start.js';
import { registerCapacityCommands } from './cli/capacity.js';
import { registerSeedCommands } from './cli/seeds.js';
import { registerLaunchCommands } from './cli/launch.js';
import { registerScheduleCommands } from './cli/schedule.js';
import { registerApiCommands } from './cli/api.js';
import { registerBenchmarkCommands } from './cli/benchmark.js';
import { preflight, type PreflightReport } from './workflows/preflight.js';

export function formatPreflight(report: PreflightReport): string {
  const rows = report.checks.map((c) => [c.name, c.status.toUpperCase(), c.value, c.detail]);
  const { pass, warn, fail } = report.counts;
  return `${textTable(['check', 'status', 'value', 'detail'], rows)}\n\n${pass} pass, ${warn} warn, ${fail} fail`;
}

export function buildProgram(config: () => Config): Command {
  const program = newProgram('commontrace-launch').description('Launch-readiness workflows for CommonTrace, on Temporal');

  program
    .command('preflight')
    .description('check PostgreSQL/pgvector, Redis, the embedder and Temporal; exit 1 on any fail')
    .option('--json', 'print the report as JSON')
    .option('--traces <n>', 'capacity the memory checks size for (default 100000)', intOption('--traces', CLI_RANGES.traces))
    .addOption(waitWorkerOption())
    .action(async (opts) => {
      process.exitCode = await runWorkflowCommand(config(), {
        workflow: preflight,
        idPrefix: 'preflight',
        input: { ...(opts.traces !== undefined && { targetTraces: opts.traces }) },
        staticSummary: 'Preflight: PostgreSQL, pgvector, Redis, embedder and Temporal checks',
        json: opts.json,
        waitWorker: opts.waitWorker,
        format: formatPreflight,
        exitCode: (r) => (r.ok ? 0 : 1),
      });
    });

  registerLaunchCommands(program, config);
  registerScheduleCommands(program, config);
  registerApiCommands(program, config);
  registerBenchmarkCommands(program, config);
  registerSeedCommands(program);
  registerColdStartCommands(program, config);
  registerCapacityCommands(program, config);
  return program;
}

/**
 * Runs one command line to its end: the exit code its action set (0 when none), or, when the command
 * failed, 2 after printing its message on stderr. Commander's own usage errors exit the process
 * (newProgram) before this returns.
 */
export async function runCommand(program: Command, argv: string[]): Promise<number> {
  try {
    await program.parseAsync(argv);
    return Number(process.exitCode ?? 0);
  } catch (err) {
    // The message is what the user acts on; LOG_LEVEL=debug adds the stack and cause as a log line.
    logger.debug({ err }, 'command failed');
    console.error(`error: ${(err as Error).message}`);
    return 2;
  }
}

/** Entry point for `npm run cli` and the package bin. */
export function runCli(argv: string[]): void {
  void runCommand(buildProgram(() => loadConfig()), argv).then((code) => {
    if (code === 2) process.exit(2);
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runCli(process.argv);
}
