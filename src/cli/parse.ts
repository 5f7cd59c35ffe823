/**
 * Option parsers for the CLI. Each names the flag, the value it got and the range it allows; a
 * rejected value ends the command with exit code 2 (see `newProgram`) before
 * anything starts.
 */
import { Command, InvalidArgumentError, Option, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { CAPACITY_LIMITS } from '../workflows/capacity-input.js';

export interface Range {
  min: number;
  max: number;
}

/** The ranges the CLI's numeric options accept. */
export const CLI_RANGES = {
  traces: CAPACITY_LIMITS.total,
  batchSize: CAPACITY_LIMITS.batchSize,
  concurrency: CAPACITY_LIMITS.concurrency,
  port: { min: 1, max: 65_535 },
  waitWorkerSeconds: { min: 0, max: 3_600 },
  deadlineSeconds: { min: 1, max: 86_400 },
  rateLimitPerMinute: { min: 1, max: 100_000 },
  searchK: { min: 1, max: 50 },
  benchmarkK: { min: 1, max: 100 },
  /** pgvector's hnsw.ef_search accepts 1–1000. */
  efSearch: { min: 1, max: 1_000 },
  clients: { min: 1, max: 64 },
  seconds: { min: 1, max: 3_600 },
  count: { min: 1, max: 1_000_000 },
  seed: { min: 1, max: 2_147_483_647 },
  ratio: { min: 0, max: 1 },
  milliseconds: { min: 0, max: 600_000 },
  factor: { min: 0, max: 1_000 },
  requestsPerSecond: { min: 0, max: 10_000 },
  percent: { min: 0, max: 10_000 },
} satisfies Record<string, Range>;

const fmt = (n: number) => n.toLocaleString('en-US');

function parseIntInRange(value: string, flag: string, range: Range): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < range.min || n > range.max) {
    throw new InvalidArgumentError(`${flag} takes an integer from ${fmt(range.min)} to ${fmt(range.max)}, got "${value}".`);
  }
  return n;
}

function parseNumberInRange(value: string, flag: string, range: Range): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < range.min || n > range.max) {
    throw new InvalidArgumentError(`${flag} takes a number from ${fmt(range.min)} to ${fmt(range.max)}, got "${value}".`);
  }
  return n;
}

/** A commander option parser for an integer in `range`. */
export const intOption = (flag: string, range: Range) => (value: string) => parseIntInRange(value, flag, range);

/** A commander option parser for a finite number in `range`. */
export const numberOption = (flag: string, range: Range) => (value: string) => parseNumberInRange(value, flag, range);

/** A commander option parser for a comma-separated list of integers in `range`. */
export const intListOption = (flag: string, range: Range) => (value: string) => value.split(',').map((v) => parseIntInRange(v.trim(), flag, range));

/** A commander option parser that accepts one of `choices`. */
export function choiceOption<T extends string>(flag: string, choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`${flag} takes one of ${choices.join(', ')}, got "${value}".`);
    return value as T;
  };
}

/** A comma-separated list of distinct `choices`, in the order given (e.g. --index-type vector,halfvec). */
export function choiceListOption<T extends string>(flag: string, choices: readonly T[]) {
  const one = choiceOption(flag, choices);
  return (value: string): T[] => {
    const list = value.split(',').map((v) => one(v.trim()));
    if (new Set(list).size !== list.length) throw new InvalidArgumentError(`${flag} lists a value twice: "${value}".`);
    return list;
  };
}

/** The --wait-worker option every workflow command has (a new Option each time: commander keeps one per command). */
export const waitWorkerOption = () =>
  new Option('--wait-worker <seconds>', 'wait this long for a worker to start polling')
    .argParser(intOption('--wait-worker', CLI_RANGES.waitWorkerSeconds))
    .default(0);

/**
 * A program whose usage errors (an unknown option, a value out of range) exit 2, as a failed run's
 * 1 means NO-GO: the CLI and the bench scripts.
 */
export function newProgram(name: string): Command {
  return new Command(name).showHelpAfterError().exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
}

/** The `name` command group of `program`, created by the first module that adds a command to it. */
export function commandGroup(program: CommandUnknownOpts, name: string, description: string): CommandUnknownOpts {
  return program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
}
