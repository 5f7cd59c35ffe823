import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Command } from 'commander';
import { buildProgram } from '../../src/client.js';
import { loadConfig } from '../../src/config.js';
import { run } from '../helpers/cli.js';

function allCommands(cmd: Command, prefix = ''): [string, Command][] {
  return cmd.commands.flatMap((c) => {
    const name = `${prefix}${c.name()}`;
    return [[name, c] as [string, Command], ...allCommands(c, `${name} `)];
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
