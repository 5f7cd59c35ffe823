/**
 * The operator CLI run inside the test process: the same program and error handling as
 * `npm run cli` (src/client.ts runCommand), without the 1.6 CPU s a spawned `node --import tsx`
 * costs. For tests whose subject is what a command does; test/unit/cli/bin.test.ts spawns the real entry
 * points. Only stdout and stderr written through console are captured, so a test that reads log
 * lines must spawn the CLI (helpers/cli.ts runCli).
 */
import { loadConfig } from '../../src/config.js';
import { buildProgram, runCommand } from '../../src/client.js';
import type { CliResult } from './cli.js';

/** `args` as `npm run cli -- <args>` with `env` added to the environment, in this process. */
export async function runCliInProcess(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  const previous = process.exitCode;
  console.log = (...parts: unknown[]) => void out.push(`${parts.join(' ')}\n`);
  console.error = (...parts: unknown[]) => void err.push(`${parts.join(' ')}\n`);
  process.exitCode = 0;
  try {
    // Loaded when a command asks for it, as in the CLI: a bad setting is that command's error (exit 2).
    const code = await runCommand(buildProgram(() => loadConfig({ ...process.env, ...env })), ['node', 'commontrace-launch', ...args]);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    console.log = log;
    console.error = error;
    process.exitCode = previous;
  }
}
