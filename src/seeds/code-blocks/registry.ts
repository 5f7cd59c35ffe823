/**
 * Which checker each fence language gets, and the check of a whole validation's blocks. Checks are
 * syntactic only: the point is to catch code that was truncated or mangled while the corpus was
 * written, not to type-check or run it. Each checker reports the block's first error (later ones
 * are often cascades of it) with its line inside the block. Languages with a JavaScript parser
 * library are checked in-process; the others by their own tools, and SQL by PostgreSQL's parser in a
 * node of its own, one process per language (subprocess-languages.ts).
 */
import { availableParallelism } from 'node:os';
import { channel } from 'node:diagnostics_channel';
import { LRUCache } from 'lru-cache';
import pLimit from 'p-limit';
import { dataFormatCheckers } from './data-formats.js';
import { checkDockerfile } from './dockerfile.js';
import { javascriptCheckers } from './javascript.js';
import type { SyntaxProblem } from './problem.js';
import { spawnInOwnGroup, type SpawnProcess } from './runner.js';
import { checkInSubprocess, isTimeoutProblem, SUBPROCESS_CHECKERS, type SubprocessChecker } from './subprocess-languages.js';

const IN_PROCESS = {
  ...javascriptCheckers,
  ...dataFormatCheckers,
  dockerfile: checkDockerfile,
} satisfies Record<string, (source: string) => SyntaxProblem | null | Promise<SyntaxProblem | null>>;

type InProcessChecker = keyof typeof IN_PROCESS;
export type Checker = InProcessChecker | SubprocessChecker;

const ALIASES: Record<string, Checker> = {
  ts: 'typescript',
  typescript: 'typescript',
  tsx: 'tsx',
  js: 'javascript',
  javascript: 'javascript',
  mjs: 'javascript',
  cjs: 'javascript',
  jsx: 'jsx',
  json: 'json',
  yaml: 'yaml',
  yml: 'yaml',
  toml: 'toml',
  python: 'python',
  py: 'python',
  sql: 'sql',
  bash: 'bash',
  sh: 'bash',
  shell: 'bash',
  zsh: 'bash',
  go: 'go',
  rust: 'rust',
  rs: 'rust',
  dockerfile: 'dockerfile',
  docker: 'dockerfile',
};

export function checkerFor(language: string | null): Checker | null {
  return language === null ? null : (ALIASES[language] ?? null);
}

const isSubprocess = (checker: Checker): checker is SubprocessChecker => (SUBPROCESS_CHECKERS as readonly string[]).includes(checker);

/**
 * Results of blocks already checked, by checker and source text. A check given one answers the
 * blocks it holds without parsing them or starting a process, so re-validating an unchanged fixture
 * (the seed-import activity keeps one for the life of its worker) costs next to nothing. A block
 * whose checker timed out is not kept: that says nothing lasting about the block.
 */
export type BlockResultCache = LRUCache<string, { problem: SyntaxProblem | null }>;

/** A cache of up to `maxBlocks` block results (the shipped fixture has about a thousand blocks). */
export function createBlockResultCache(maxBlocks = 20_000): BlockResultCache {
  return new LRUCache({ max: maxBlocks });
}

export interface CheckOptions {
  /** Blocks checked before; what this check finds is added to it. */
  cache?: BlockResultCache;
  /** How many checker processes (one per language) may run at once. */
  concurrency?: number;
  /** Limit for each checker process; the blocks it has not answered by then fail with the limit. */
  timeoutMs?: number;
  /** How checker processes are started (a test counts them through this). */
  spawn?: SpawnProcess;
}

export const DEFAULT_CHECK_TIMEOUT_MS = 60_000;

/** What one checkBlocks call did, published on CHECK_CHANNEL for whoever measures it (bench:seed-import). */
export interface CheckSummary {
  blocks: Partial<Record<Checker, number>>;
  /** Of those blocks, how many the cache answered. */
  cached: Partial<Record<Checker, number>>;
  processes: Partial<Record<Checker, number>>;
}
export const CHECK_CHANNEL = channel('commontrace:seeds:code-block-check');

/** Checks every block; results in input order. */
export async function checkBlocks(
  blocks: readonly { checker: Checker; content: string }[],
  options: CheckOptions = {},
): Promise<(SyntaxProblem | null)[]> {
  const results: (SyntaxProblem | null)[] = blocks.map(() => null);
  const summary: CheckSummary = { blocks: {}, cached: {}, processes: {} };
  const { cache } = options;
  const keyOf = (block: { checker: Checker; content: string }) => `${block.checker}\0${block.content}`;
  const inProcess: { i: number; checker: InProcessChecker }[] = [];
  const batches = new Map<SubprocessChecker, number[]>();
  for (const [i, block] of blocks.entries()) {
    const { checker } = block;
    summary.blocks[checker] = (summary.blocks[checker] ?? 0) + 1;
    const known = cache?.get(keyOf(block));
    if (known) {
      results[i] = known.problem;
      summary.cached[checker] = (summary.cached[checker] ?? 0) + 1;
    } else if (isSubprocess(checker)) {
      batches.set(checker, [...(batches.get(checker) ?? []), i]);
    } else {
      inProcess.push({ i, checker });
    }
  }
  const spawn = options.spawn ?? spawnInOwnGroup;
  const limit = pLimit(options.concurrency ?? Math.max(2, availableParallelism()));
  // The processes start first, so they work while the in-process parsers hold this thread.
  const external = limit.map([...batches], async ([checker, indexes]) => {
    const counted: SpawnProcess = (command, args) => {
      summary.processes[checker] = (summary.processes[checker] ?? 0) + 1;
      return spawn(command, args);
    };
    const problems = await checkInSubprocess(
      checker,
      indexes.map((i) => blocks[i]!.content),
      { timeoutMs: options.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS, spawn: counted },
    );
    indexes.forEach((blockIndex, k) => (results[blockIndex] = problems[k] ?? null));
  });
  // A rejected batch is reported by the await below, after the in-process checks.
  external.catch(() => {});
  for (const { i, checker } of inProcess) results[i] = await IN_PROCESS[checker](blocks[i]!.content);
  await external;
  if (cache) {
    for (const i of [...inProcess.map((b) => b.i), ...[...batches.values()].flat()]) {
      const problem = results[i] ?? null;
      if (!isTimeoutProblem(problem)) cache.set(keyOf(blocks[i]!), { problem });
    }
  }
  if (CHECK_CHANNEL.hasSubscribers) CHECK_CHANNEL.publish(summary);
  return results;
}
