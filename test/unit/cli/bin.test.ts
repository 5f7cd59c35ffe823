import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommanderError, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { buildProgram } from '../../../src/client.js';
import { loadConfig } from '../../../src/config.js';
import { run, runCli } from '../../helpers/cli.js';

function allCommands(cmd: CommandUnknownOpts, prefix = ''): [string, CommandUnknownOpts][] {
  return cmd.commands.flatMap((c): [string, CommandUnknownOpts][] => {
    const name = `${prefix}${c.name()}`;
    return [[name, c], ...allCommands(c, `${name} `)];
  });
}

test('every command documents itself with --help, and data commands offer --json', () => {
  const commands = allCommands(buildProgram(() => loadConfig({})));
  assert.ok(commands.length >= 25, `found ${commands.length} commands`);
  for (const [name, c] of commands) {
    assert.ok(c.description().length > 10, `${name} has a description`);
    assert.match(c.helpInformation(), /-h, --help/, `${name} has --help`);
  }
  const byName = new Map(commands);
  for (const name of ['preflight', 'launch', 'status', 'follow', 'report', 'search', 'smoke', 'seeds validate', 'schedule describe']) {
    assert.ok(byName.get(name)?.options.some((o) => o.long === '--json'), `${name} has --json`);
  }
});

test('the package bin runs the CLI from the TypeScript sources', async () => {
  const result = await run('./bin/commontrace-launch.mjs', ['seeds', 'validate', 'fixtures/sample_traces.json']);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /12 traces/);
  assert.match(result.stdout, /OK: no problems/);
});

/**
 * Parses `args` with the real program in this process, with every command's exit turned into a
 * thrown CommanderError and its error output captured: what the CLI would print before exiting.
 */
async function parseInProcess(args: string[]): Promise<{ error: CommanderError | null; stderr: string }> {
  let stderr = '';
  const program = buildProgram(() => loadConfig({}));
  for (const c of [program, ...allCommands(program).map(([, cmd]) => cmd)]) {
    c.exitOverride().configureOutput({ writeErr: (s) => void (stderr += s), writeOut: () => undefined });
  }
  try {
    await program.parseAsync(args, { from: 'user' });
    return { error: null, stderr };
  } catch (err) {
    if (err instanceof CommanderError) return { error: err, stderr };
    throw err;
  }
}

test('a malformed or out-of-range option is refused naming the value and the allowed range, before anything starts', async () => {
  const cases: [string[], RegExp][] = [
    [['launch', '--traces', 'abc'], /--traces takes an integer from 1 to 10,000,000, got "abc"/],
    [['launch', '--scale', 'x'], /--scale takes one of demo, full, got "x"/],
    [['api', '--port', '70000'], /--port takes an integer from 1 to 65,535, got "70000"/],
    [['launch', '--min-hit5', '1.5'], /--min-hit5 takes a number from 0 to 1, got "1.5"/],
    [['capacity', 'populate', '--batch-size', '0'], /--batch-size takes an integer from 1 to 100,000, got "0"/],
    [['bench', 'search', '--ef-search', '64,5000'], /--ef-search takes an integer from 1 to 1,000, got "5000"/],
  ];
  for (const [args, message] of cases) {
    const { error, stderr } = await parseInProcess(args);
    assert.equal(error?.code, 'commander.invalidArgument', `${args.join(' ')}: ${stderr}`);
    assert.match(stderr, message, args.join(' '));
  }
});

test('a refused option ends the process with exit code 2, in the CLI and in the bench scripts', async () => {
  // Both go through newProgram's exit handler; started together, the test takes about as long as the slower.
  const [cli, bench] = await Promise.all([
    runCli(['launch', '--traces', 'abc']),
    run(process.execPath, ['--import', 'tsx', 'scripts/bench/search.ts', '--total', 'abc']),
  ]);
  assert.equal(cli.code, 2, cli.stderr);
  assert.match(cli.stderr, /--traces takes an integer from 1 to 10,000,000, got "abc"/);
  assert.equal(bench.code, 2, bench.stderr);
  assert.match(bench.stderr, /--total takes an integer from 1 to 10,000,000, got "abc"/);
});
