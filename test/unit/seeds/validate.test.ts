import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from '@commander-js/extra-typings';
import { cosineSimilarity, traceEmbeddingText } from '../../../src/embeddings/embedder.js';
import { embedLocal } from '../../../src/embeddings/local.js';
import { normalizeTag } from '../../../src/tags.js';
import { checkDockerfile } from '../../../src/seeds/code-blocks/dockerfile.js';
import { extractCodeBlocks } from '../../../src/seeds/code-blocks/fences.js';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { CHECK_CHANNEL, checkBlocks, createBlockResultCache, type Checker, type CheckSummary } from '../../../src/seeds/code-blocks/registry.js';
import { spawnInOwnGroup, type SpawnProcess } from '../../../src/seeds/code-blocks/runner.js';
import { SeedValidationError, assertValidSeedFile, validateSeedFile, type SeedValidationOptions } from '../../../src/seeds/validate.js';
import type { SeedTrace } from '../../../src/seeds/schema.js';
import { registerSeedCommands } from '../../../src/cli/seeds.js';
import { REPO_ROOT } from '../../helpers/cli.js';

// --- fixtures --------------------------------------------------------------------------------

interface Topic {
  key: string;
  title: string;
  context: string;
  lang: string;
  code: string;
  tags: string[];
}

// Twelve unrelated topics, one per checked language, so no two traces look alike to the embedder.
const TOPICS: Topic[] = [
  {
    key: 'requests-retry-backoff',
    title: 'Retry flaky HTTP calls with exponential backoff in requests',
    context: 'A Python crawler using requests fails intermittently with 503 responses from an upstream API under load.',
    lang: 'python',
    code: 'from urllib3.util.retry import Retry\n\nretry = Retry(total=5, backoff_factor=0.5, status_forcelist=[502, 503])\nprint(retry)',
    tags: ['python', 'requests'],
  },
  {
    key: 'ts-unknown-catch',
    title: 'Narrow unknown errors in TypeScript catch clauses',
    context: 'With useUnknownInCatchVariables enabled, reading err.message inside catch no longer compiles in strict mode.',
    lang: 'ts',
    code: 'try {\n  run();\n} catch (err: unknown) {\n  const message = err instanceof Error ? err.message : String(err);\n  console.error(message);\n}',
    tags: ['typescript', 'errors'],
  },
  {
    key: 'pgvector-hnsw-index',
    title: 'Speed up pgvector similarity search with an HNSW index',
    context: 'Nearest-neighbour queries over a million embeddings scan sequentially and take seconds on PostgreSQL.',
    lang: 'sql',
    code: 'CREATE INDEX ON items USING hnsw (embedding vector_cosine_ops);\nSET hnsw.ef_search = 100;',
    tags: ['postgresql', 'pgvector'],
  },
  {
    key: 'wait-for-postgres-shell',
    title: 'Wait for PostgreSQL readiness in a container entrypoint',
    context: 'The migration step of a deploy script races the database container and exits with connection refused.',
    lang: 'bash',
    code: 'until pg_isready -h db -p 5432; do\n  sleep 1\ndone\nexec "$@"',
    tags: ['bash', 'docker'],
  },
  {
    key: 'go-context-timeout',
    title: 'Cancel goroutines cleanly with context deadlines in Go',
    context: 'Worker goroutines keep running after an HTTP handler returns, leaking memory until the pod is killed.',
    lang: 'go',
    code: 'package main\n\nimport (\n\t"context"\n\t"time"\n)\n\nfunc main() {\n\tctx, cancel := context.WithTimeout(context.Background(), time.Second)\n\tdefer cancel()\n\t<-ctx.Done()\n}',
    tags: ['go', 'concurrency'],
  },
  {
    key: 'rust-question-mark',
    title: 'Propagate errors in Rust with the question mark operator',
    context: 'Nested match statements on Result values make a small file-parsing function hard to read and review.',
    lang: 'rust',
    code: 'use std::fs;\n\nfn read_port(path: &str) -> Result<u16, Box<dyn std::error::Error>> {\n    let text = fs::read_to_string(path)?;\n    Ok(text.trim().parse()?)\n}',
    tags: ['rust', 'error-handling'],
  },
  {
    key: 'compose-healthcheck',
    title: 'Gate dependent compose services on a healthcheck',
    context: 'The api service in docker compose starts before redis accepts connections and crashes on boot.',
    lang: 'yaml',
    code: 'services:\n  redis:\n    image: redis:7\n    healthcheck:\n      test: ["CMD", "redis-cli", "ping"]\n  api:\n    depends_on:\n      redis:\n        condition: service_healthy',
    tags: ['docker-compose', 'redis'],
  },
  {
    key: 'node-multistage-image',
    title: 'Shrink Node images with a multi-stage Dockerfile build',
    context: 'The production image ships the full toolchain and dev dependencies, weighing more than a gigabyte.',
    lang: 'dockerfile',
    code: 'FROM node:20 AS build\nWORKDIR /app\nCOPY . .\nRUN npm ci && \\\n    npm run build\n\nFROM node:20-slim\nCOPY --from=build /app/dist /app\nCMD ["node", "/app/index.js"]',
    tags: ['docker', 'nodejs'],
  },
  {
    key: 'ruff-pyproject',
    title: 'Configure Ruff lint selection inside pyproject.toml',
    context: 'Flake8, isort and pyupgrade each read separate config files and disagree about line length limits.',
    lang: 'toml',
    code: '[tool.ruff]\nline-length = 100\n\n[tool.ruff.lint]\nselect = ["E", "F", "I", "UP"]',
    tags: ['python', 'ruff'],
  },
  {
    key: 'tsconfig-strict',
    title: 'Turn on strict null checks through tsconfig.json',
    context: 'Undefined values slip through compilation and surface as runtime TypeErrors in the browser bundle.',
    lang: 'json',
    code: '{\n  "compilerOptions": {\n    "strict": true,\n    "noUncheckedIndexedAccess": true\n  }\n}',
    tags: ['typescript', 'tsconfig'],
  },
  {
    key: 'react-memo-list',
    title: 'Memoize an expensive React list row component',
    context: 'Typing into a search box re-renders five thousand rows of a product table and the UI stutters.',
    lang: 'tsx',
    code: 'import { memo } from "react";\n\nexport const Row = memo(function Row({ name }: { name: string }) {\n  return <li>{name}</li>;\n});',
    tags: ['react', 'performance'],
  },
  {
    key: 'debounce-input-js',
    title: 'Debounce keystroke handlers in vanilla JavaScript',
    context: 'An autocomplete field fires one fetch per keystroke and the suggestions endpoint rate-limits visitors.',
    lang: 'js',
    code: 'function debounce(fn, ms) {\n  let timer;\n  return (...args) => {\n    clearTimeout(timer);\n    timer = setTimeout(() => fn(...args), ms);\n  };\n}',
    tags: ['javascript', 'browser'],
  },
];

function solutionWith(lang: string, code: string): string {
  return `Do this:\n\n\`\`\`${lang}\n${code}\n\`\`\`\n`;
}

/** A valid trace for topic i; clusters group consecutive topics in threes. */
function trace(i: number, overrides: Partial<Record<keyof SeedTrace, unknown>> = {}): Record<string, unknown> {
  const t = TOPICS[i]!;
  return {
    seed_key: t.key,
    title: t.title,
    context: `${t.context} This happens on every deploy of the service.`,
    solution: solutionWith(t.lang, t.code),
    tags: t.tags,
    cluster: `cluster-${Math.floor(i / 3)}`,
    agent_model: 'claude-test',
    agent_version: '1.0',
    ...overrides,
  };
}

const corpus = () => TOPICS.map((_, i) => trace(i));
const SMALL: SeedValidationOptions = { corpus: false };

const tmp = await mkdtemp(path.join(os.tmpdir(), 'seed-validate-'));
after(() => rm(tmp, { recursive: true, force: true }));
let fileCounter = 0;

async function writeTemp(contents: string | Uint8Array): Promise<string> {
  const file = path.join(tmp, `seeds-${fileCounter++}.json`);
  await writeFile(file, contents);
  return file;
}

async function validate(data: unknown, options: SeedValidationOptions = SMALL) {
  return validateSeedFile(await writeTemp(JSON.stringify(data, null, 2)), options);
}

/** One trace whose solution holds a single block; returns the problems. */
async function problemsForBlock(lang: string, code: string) {
  return (await validate([trace(0, { solution: solutionWith(lang, code) })], { ...SMALL, maxUncheckedShare: 1 })).problems;
}

function blockProblem(lang: string, message: string) {
  return [{ seedKey: 'requests-retry-backoff', path: '$[0].solution', message: `${lang} block at solution line 3 does not parse: ${message}` }];
}

// --- a clean corpus ----------------------------------------------------------------------------

test('a valid corpus passes with correct counts', async () => {
  const report = await validate(corpus(), { minClusters: 4 });
  assert.deepEqual(report.problems, []);
  assert.equal(report.ok, true);
  assert.equal(report.traces, 12);
  assert.equal(report.clusters, 4);
  assert.deepEqual(report.blocks, { total: 12, checked: 12, unchecked: 0, failed: 0, uncheckedShare: 0 });
  assert.deepEqual(Object.keys(report.languages), [
    'bash', 'dockerfile', 'go', 'javascript', 'json', 'python', 'rust', 'sql', 'toml', 'tsx', 'typescript', 'yaml',
  ]);
  assert.deepEqual(report.languages.typescript, { blocks: 1, checked: 1, failed: 0 });
});

test('the default corpus rules want 60 clusters', async () => {
  const report = await validate(corpus(), {});
  assert.deepEqual(report.problems, [{ path: '$', message: 'the corpus has 4 clusters; at least 60 are needed' }]);
});

test('minTraces is enforced when asked for', async () => {
  const report = await validate(corpus(), { minClusters: 4, minTraces: 300 });
  assert.deepEqual(report.problems, [{ path: '$', message: 'the corpus has 12 traces; at least 300 are needed' }]);
});

// --- the file itself -------------------------------------------------------------------------

test('invalid JSON reports the parser message and where', async () => {
  const report = await validateSeedFile(await writeTemp('[\n  {"seed_key": }\n]'));
  // Node 24's wording (the project's runtime); V8 gives no offset here, so the validator adds one.
  assert.deepEqual(report.problems, [
    { path: '$', message: `invalid JSON: Unexpected token '}', "[\\n  {"seed_key": }\\n]" is not valid JSON (line 2, column 16)` },
  ]);
  assert.equal(report.ok, false);
});

test('invalid JSON with an offset gets a line and column', async () => {
  const report = await validateSeedFile(await writeTemp('[\n  {"a": 1,}\n]'));
  assert.equal(report.problems.length, 1);
  assert.match(report.problems[0]!.message, /^invalid JSON: .*\bline 2\b/);
});

test('a top level that is not an array', async () => {
  const report = await validate({ traces: [] });
  assert.deepEqual(report.problems, [{ path: '$', message: 'top level must be an array of traces, got object' }]);
});

test('a non-UTF-8 file', async () => {
  const report = await validateSeedFile(await writeTemp(new Uint8Array([0xff, 0xfe])));
  assert.deepEqual(report.problems, [{ path: '$', message: 'file is not valid UTF-8' }]);
});

test('an unreadable file throws instead of reporting', async () => {
  await assert.rejects(validateSeedFile(path.join(tmp, 'missing.json')), /^Error: cannot read seed file .*missing\.json: ENOENT/);
});

// --- schema ----------------------------------------------------------------------------------

test('a missing field', async () => {
  const t = trace(0);
  delete t.title;
  const report = await validate([t]);
  assert.deepEqual(report.problems, [{ seedKey: 'requests-retry-backoff', path: '$[0].title', message: 'required field is missing' }]);
});

test('a field of the wrong type', async () => {
  const report = await validate([trace(0, { tags: 'python' })]);
  assert.deepEqual(report.problems, [{ seedKey: 'requests-retry-backoff', path: '$[0].tags', message: 'expected an array, got string' }]);
});

test('a wrong type inside an array names the element', async () => {
  const report = await validate([trace(0, { tags: ['python', 42] })]);
  assert.deepEqual(report.problems, [{ seedKey: 'requests-retry-backoff', path: '$[0].tags[1]', message: 'expected a string, got number' }]);
});

test('an unknown field', async () => {
  const report = await validate([trace(0, { author: 'me' } as Partial<SeedTrace>)]);
  assert.deepEqual(report.problems, [
    {
      seedKey: 'requests-retry-backoff',
      path: '$[0].author',
      message: 'unknown field (allowed: seed_key, title, context, solution, tags, cluster, agent_model, agent_version)',
    },
  ]);
});

test('an oversize field', async () => {
  const report = await validate([trace(0, { context: `${TOPICS[0]!.context} ${'x'.repeat(4000)}` })]);
  assert.deepEqual(report.problems, [
    { seedKey: 'requests-retry-backoff', path: '$[0].context', message: `must have at most 4000 characters, got ${TOPICS[0]!.context.length + 4001}` },
  ]);
});

test('a title that is too short once trimmed', async () => {
  const report = await validate([trace(0, { title: '   Retry      ' })]);
  assert.deepEqual(report.problems, [{ seedKey: 'requests-retry-backoff', path: '$[0].title', message: 'must have at least 10 characters, got 5' }]);
});

test('a seed_key that is not a slug', async () => {
  const report = await validate([trace(0, { seed_key: 'Retry_Backoff' })]);
  assert.deepEqual(report.problems, [
    { seedKey: 'Retry_Backoff', path: '$[0].seed_key', message: 'must be a lowercase slug like "docker-compose-healthcheck" (^[a-z0-9]+(-[a-z0-9]+)*$), got "Retry_Backoff"' },
  ]);
});

test('an empty solution', async () => {
  const report = await validate([trace(0, { solution: '' })]);
  assert.deepEqual(report.problems, [{ seedKey: 'requests-retry-backoff', path: '$[0].solution', message: 'must not be empty' }]);
});

test('an entry that is not an object', async () => {
  const report = await validate([trace(0), 'oops']);
  assert.deepEqual(report.problems, [{ path: '$[1]', message: 'expected an object, got string' }]);
});

// --- uniqueness and tags -----------------------------------------------------------------------

test('a duplicate seed_key', async () => {
  const report = await validate([trace(0), trace(1, { seed_key: 'requests-retry-backoff' })]);
  assert.deepEqual(report.problems, [
    { seedKey: 'requests-retry-backoff', path: '$[1].seed_key', message: 'duplicate seed_key "requests-retry-backoff", first used at $[0]' },
  ]);
});

test('a duplicate title, ignoring case and surrounding spaces', async () => {
  const report = await validate([trace(0), trace(1, { title: `  ${TOPICS[0]!.title.toUpperCase()} ` })]);
  assert.deepEqual(report.problems, [
    {
      seedKey: 'ts-unknown-catch',
      path: '$[1].title',
      message: 'duplicate title: same as "requests-retry-backoff" ($[0]), ignoring case and surrounding spaces',
    },
  ]);
});

test('an invalid tag', async () => {
  const report = await validate([trace(0, { tags: ['python', 'C++ !'] })]);
  assert.deepEqual(report.problems, [
    { seedKey: 'requests-retry-backoff', path: '$[0].tags[1]', message: 'invalid tag "C++ !": tag "c++-!" must match ^[a-z0-9][a-z0-9.+#-]*$' },
  ]);
});

test('tags that are the same after normalization', async () => {
  assert.equal(normalizeTag('Docker Compose'), 'docker-compose');
  const report = await validate([trace(0, { tags: ['docker-compose', 'python', 'Docker Compose'] })]);
  assert.deepEqual(report.problems, [
    { seedKey: 'requests-retry-backoff', path: '$[0].tags[2]', message: 'tag "Docker Compose" normalizes to "docker-compose", the same as tags[0]' },
  ]);
});

test('too many tags', async () => {
  const report = await validate([trace(0, { tags: ['a1', 'b2', 'c3', 'd4', 'e5', 'f6', 'g7'] })]);
  assert.deepEqual(report.problems, [{ seedKey: 'requests-retry-backoff', path: '$[0].tags', message: 'must have at most 6 items, got 7' }]);
});

// --- clusters and duplicates -------------------------------------------------------------------

test('a cluster with one trace', async () => {
  const data = [trace(0), trace(1), trace(2), trace(3, { cluster: 'loner' })];
  const report = await validate(data, { minClusters: 2 });
  assert.deepEqual(report.problems, [
    { seedKey: 'wait-for-postgres-shell', path: '$[3].cluster', message: 'cluster "loner" has 1 trace (wait-for-postgres-shell); each cluster needs 3–6' },
  ]);
});

test('corpus: false skips the cluster rules', async () => {
  const report = await validate([trace(0), trace(3, { cluster: 'loner' })], { corpus: false });
  assert.deepEqual(report.problems, []);
});

test('a near-duplicate pair', async () => {
  const original = trace(0);
  const copy = trace(0, {
    seed_key: 'requests-retry-backoff-again',
    title: 'Retry flaky HTTP requests with exponential backoff',
    solution: (original.solution as string).replace('Do this:', 'DO   THIS:').replace(/\n\n/g, '\n  \n'),
  });
  const text = (t: Record<string, unknown>) =>
    traceEmbeddingText({ title: t.title as string, contextText: t.context as string, solutionText: t.solution as string, tags: t.tags as string[] });
  const similarity = cosineSimilarity(embedLocal(text(original)), embedLocal(text(copy)));
  assert.ok(similarity > 0.95);
  const report = await validate([original, copy]);
  assert.deepEqual(report.problems, [
    {
      seedKey: 'requests-retry-backoff-again',
      path: '$[1]',
      message: `near-duplicate of "requests-retry-backoff" ($[0]): identical solution, local-embedding cosine similarity ${similarity.toFixed(4)} > 0.95`,
    },
  ]);
});

// --- code blocks -------------------------------------------------------------------------------

test('a solution without a fenced code block', async () => {
  const report = await validate([trace(0, { solution: 'Restart the worker and it recovers.' })]);
  assert.deepEqual(report.problems, [{ seedKey: 'requests-retry-backoff', path: '$[0].solution', message: 'solution has no fenced code block' }]);
});

test('an untagged fence', async () => {
  const data = corpus();
  data[0]!.solution = `${data[0]!.solution as string}\nThen:\n\n\`\`\`\npip install urllib3\n\`\`\`\n`;
  const report = await validate(data);
  assert.deepEqual(report.problems, [
    { seedKey: 'requests-retry-backoff', path: '$[0].solution', message: 'code block without a language tag at solution line 12' },
  ]);
  assert.deepEqual(report.languages['(untagged)'], { blocks: 1, checked: 0, failed: 0 });
});

test('an unclosed fence', async () => {
  const report = await validate([trace(0, { solution: 'Use:\n\n```python\nprint(1)\n' })]);
  assert.deepEqual(report.problems, [{ seedKey: 'requests-retry-backoff', path: '$[0].solution', message: 'code block at solution line 3 is never closed' }]);
});

test('too many unchecked blocks', async () => {
  const data = corpus();
  data[0]!.solution = `${data[0]!.solution as string}\nOutput:\n\n~~~text\nRetry(total=5)\n~~~\n`;
  data[1]!.solution = `${data[1]!.solution as string}\nDiagram:\n\n\`\`\`Mermaid\ngraph TD; A-->B\n\`\`\`\n`;
  const report = await validate(data);
  assert.deepEqual(report.problems, [
    {
      path: '$',
      message:
        '2 of 14 code blocks (14.3%) are in languages nothing checks (mermaid: 1, text: 1); at most 10.0% may be — tag them with a checked language or drop them',
    },
  ]);
  assert.deepEqual(report.blocks, { total: 14, checked: 12, unchecked: 2, failed: 0, uncheckedShare: 2 / 14 });
});

// One row per checked language: blocks that must pass, and a broken block with the first error the
// language's own parser reports for it (line within the block).
const SYNTAX_CASES: { lang: string; good: string[]; bad: string; error: string }[] = [
  { lang: 'ts', good: [TOPICS[1]!.code], bad: 'const x = ;', error: 'block line 1: Expression expected.' },
  {
    lang: 'tsx',
    good: [TOPICS[10]!.code],
    bad: 'export const A = () => (\n  <div>hi</span>\n);',
    error: "block line 2: Expected corresponding JSX closing tag for 'div'.",
  },
  {
    lang: 'javascript',
    good: [TOPICS[11]!.code],
    bad: 'const total = [1, 2].reduce((a, b) => a + b, 0;\nconsole.log(total);',
    error: "block line 1: ')' expected.",
  },
  {
    lang: 'json',
    good: [TOPICS[9]!.code],
    bad: '{\n  "a": 1,\n}',
    error: 'block line 3: Expected double-quoted property name in JSON at position 12 (line 3 column 1)',
  },
  { lang: 'yml', good: [TOPICS[6]!.code], bad: 'services:\n  api:\n    image: node\n   ports: [80]', error: 'block line 4: All mapping items must start at the same column' },
  { lang: 'toml', good: [TOPICS[8]!.code], bad: '[tool.ruff]\nline-length = = 100', error: 'block line 2: Invalid TOML document: invalid value' },
  { lang: 'py', good: [TOPICS[0]!.code], bad: 'def f(:\n    return 1', error: 'block line 1: SyntaxError: invalid syntax' },
  {
    lang: 'sql',
    // psql meta-commands are not SQL, and not errors either.
    good: [TOPICS[2]!.code, '\\timing on\nSELECT count(*) FROM items;'],
    bad: 'SELECT 1;\nSELEC name FROM users;',
    error: 'block line 2: syntax error at or near "SELEC"',
  },
  { lang: 'sh', good: [TOPICS[3]!.code], bad: 'if [ -f x ]; then\n  echo yes\nfi fi', error: "block line 3: syntax error near unexpected token `fi'" },
  { lang: 'go', good: [TOPICS[4]!.code], bad: 'package main\n\nfunc main() {\n\tx := \n}', error: "block line 5: expected operand, found '}'" },
  {
    lang: 'rs',
    // Unformatted code and statement-level fragments (no main) parse.
    good: [TOPICS[5]!.code, 'fn main(){let x=1;println!("{}",x);}', 'let total: u32 = items.iter().sum();'],
    bad: 'fn main() {\n    let x = ;\n}',
    error: 'block line 2: expected expression, found `;`',
  },
  { lang: 'dockerfile', good: [TOPICS[7]!.code], bad: 'FROM node:20\nRUN npm ci\nCOPPY . /app', error: 'block line 3: unknown instruction "COPPY"' },
];

for (const { lang, good, bad, error } of SYNTAX_CASES) {
  test(`${lang} blocks: good ones pass, a broken one reports its first error and line`, async () => {
    for (const code of good) assert.deepEqual(await problemsForBlock(lang, code), [], code);
    assert.deepEqual(await problemsForBlock(lang, bad), blockProblem(lang, error));
  });
}

test('several Python blocks are checked together and each keeps its own result', async () => {
  const solution = `${solutionWith('python', 'print(1)')}\n${solutionWith('python', 'x = (')}`;
  const report = await validate([trace(0, { solution })]);
  assert.deepEqual(report.problems, [
    { seedKey: 'requests-retry-backoff', path: '$[0].solution', message: "python block at solution line 9 does not parse: block line 1: SyntaxError: '(' was never closed" },
  ]);
  assert.deepEqual(report.languages.python, { blocks: 2, checked: 2, failed: 1 });
});

test('the subprocess languages: one process per language for all its blocks, each block its own result', async () => {
  const started: string[] = [];
  const startedArgs: (readonly string[])[] = [];
  const countingSpawn: SpawnProcess = (command, args) => {
    started.push(command);
    startedArgs.push(args);
    return spawnInOwnGroup(command, args);
  };
  const blocks: { checker: Checker; content: string }[] = [
    { checker: 'bash', content: 'echo one' },
    { checker: 'python', content: 'print(1)' },
    { checker: 'bash', content: 'if true; then\n  echo two\nfi fi' },
    { checker: 'python', content: 'def f(:\n    pass' },
    { checker: 'go', content: 'package main\n\nfunc main() {}' },
    { checker: 'bash', content: 'for f in *; do\n  echo "$f"\ndone' },
    { checker: 'go', content: 'package main\n\nfunc main() {\n\tx := \n}' },
    { checker: 'typescript', content: 'const x = ;' },
    // Parsed as a string bash stops at the `((`; `bash -n` reading the block as a stream, as a
    // process of its own would, reaches the end of the file. The stream's answer is the result.
    { checker: 'bash', content: 'if ((n)' },
    { checker: 'sql', content: 'SELECT 1;' },
    { checker: 'sql', content: '\\d items\nSELEC name FROM items;' },
  ];
  assert.deepEqual(await checkBlocks(blocks, { spawn: countingSpawn }), [
    null,
    null,
    { line: 3, message: "syntax error near unexpected token `fi'" },
    { line: 1, message: 'SyntaxError: invalid syntax' },
    null,
    null,
    { line: 5, message: "expected operand, found '}'" },
    { line: 1, message: 'Expression expected.' },
    { line: 3, message: 'syntax error: unexpected end of file' },
    null,
    { line: 2, message: 'syntax error at or near "SELEC"' },
  ]);
  // python3 directly (or the interpreter it resolved to); bash for the bash driver and go's driver;
  // this node, with WebAssembly left to its baseline compiler, for the SQL parser.
  assert.equal(started.length, 4);
  assert.equal(started.filter((command) => path.basename(command) === 'bash').length, 2);
  assert.deepEqual(startedArgs[started.indexOf(process.execPath)]?.slice(0, 1), ['--liftoff-only']);
});

test('a checker process that never answers is killed at the timeout; each of its blocks fails with the limit', async () => {
  const silent: SpawnProcess = () => spawnInOwnGroup('bash', ['-c', 'exec sleep 60']);
  const blocks: { checker: Checker; content: string }[] = [
    { checker: 'bash', content: 'echo one' },
    { checker: 'bash', content: 'echo two' },
  ];
  assert.deepEqual(await checkBlocks(blocks, { spawn: silent, timeoutMs: 200 }), [
    { message: 'bash did not finish within 0.2 s' },
    { message: 'bash did not finish within 0.2 s' },
  ]);
});

test('a block result cache answers the blocks it holds: the same results, nothing parsed, no process started', async () => {
  const started: string[] = [];
  const countingSpawn: SpawnProcess = (command, args) => {
    started.push(command);
    return spawnInOwnGroup(command, args);
  };
  const summaries: CheckSummary[] = [];
  const onCheck = (message: unknown) => summaries.push(message as CheckSummary);
  subscribe(CHECK_CHANNEL.name, onCheck);
  try {
    const cache = createBlockResultCache();
    const blocks: { checker: Checker; content: string }[] = [
      { checker: 'python', content: 'print(1)' },
      { checker: 'python', content: 'def f(:\n    pass' },
      { checker: 'typescript', content: 'const x = ;' },
    ];
    const expected = [null, { line: 1, message: 'SyntaxError: invalid syntax' }, { line: 1, message: 'Expression expected.' }];
    assert.deepEqual(await checkBlocks(blocks, { spawn: countingSpawn, cache }), expected);
    assert.equal(started.length, 1);
    // A new block beside the known ones is the only one checked.
    const more = [...blocks, { checker: 'python' as const, content: 'x = 2' }];
    assert.deepEqual(await checkBlocks(more, { spawn: countingSpawn, cache }), [...expected, null]);
    assert.equal(started.length, 2);
    assert.deepEqual(await checkBlocks(more, { spawn: countingSpawn, cache }), [...expected, null]);
    assert.equal(started.length, 2, 'every block known: no checker process');
    assert.deepEqual(summaries.map((s) => s.cached), [{}, { python: 2, typescript: 1 }, { python: 3, typescript: 1 }]);
  } finally {
    unsubscribe(CHECK_CHANNEL.name, onCheck);
  }
});

test('a block whose checker timed out is not cached: the next check runs it', async () => {
  const cache = createBlockResultCache();
  const blocks: { checker: Checker; content: string }[] = [{ checker: 'bash', content: 'echo one' }];
  const silent: SpawnProcess = () => spawnInOwnGroup('bash', ['-c', 'exec sleep 60']);
  assert.deepEqual(await checkBlocks(blocks, { spawn: silent, timeoutMs: 200, cache }), [{ message: 'bash did not finish within 0.2 s' }]);
  assert.equal(cache.size, 0);
  assert.deepEqual(await checkBlocks(blocks, { cache }), [null]);
  assert.equal(cache.size, 1);
});

test('the Dockerfile grammar', () => {
  assert.equal(checkDockerfile('# syntax=docker/dockerfile:1\nARG BASE=node:20\nFROM ${BASE}\n# a comment\nRUN <<EOF\nset -e\nnpm ci\nEOF\nCMD ["node"]'), null);
  assert.equal(checkDockerfile('FROM alpine\nRUN apk add \\\n  # curl is for the healthcheck\n  curl\nHEALTHCHECK CMD curl -f http://localhost/'), null);
  assert.equal(checkDockerfile('# escape=`\nFROM mcr.microsoft.com/windows\nRUN echo a `\n  b'), null);
  assert.deepEqual(checkDockerfile('RUN echo hi\nFROM alpine'), { line: 1, message: 'RUN before FROM (only ARG may come first)' });
  assert.deepEqual(checkDockerfile('FROM alpine\nCOPY <<EOF /etc/motd\nhello'), { line: 2, message: 'heredoc <<EOF is never closed by a line "EOF"' });
  assert.deepEqual(checkDockerfile('FROM\n'), { line: 1, message: 'FROM needs arguments' });
  assert.deepEqual(checkDockerfile('ARG X=1'), { line: 1, message: 'no FROM instruction' });
});

test('code block extraction: fences, languages and lines', () => {
  const md = 'Intro\n\n```TypeScript title="a.ts"\nconst a = 1;\n```\n\n1. Then:\n   ~~~~bash\n   echo hi\n   ~~~~\n\nInline ```not a fence``` here\n```\nplain\n```';
  assert.deepEqual(extractCodeBlocks(md), [
    { language: 'typescript', line: 3, content: 'const a = 1;', closed: true },
    { language: 'bash', line: 8, content: 'echo hi', closed: true },
    { language: null, line: 13, content: 'plain', closed: true },
  ]);
});

test('code block extraction: a fence inside a blockquote is found, without its markers', () => {
  const md = 'Note:\n\n> Run this:\n>\n> ```bash\n> echo hi\n>   echo indented\n> ```\n\nDone.';
  assert.deepEqual(extractCodeBlocks(md), [{ language: 'bash', line: 5, content: 'echo hi\n  echo indented', closed: true }]);
});

test('code block extraction: a fence indented four spaces is an indented code block, not a fence', () => {
  const md = 'Text\n\n    ```python\n    print(1)\n    ```\n\n```sql\nSELECT 1;\n```';
  assert.deepEqual(extractCodeBlocks(md), [{ language: 'sql', line: 7, content: 'SELECT 1;', closed: true }]);
});

test('code block extraction: a fence left open is not closed, in a blockquote or at the end', () => {
  assert.deepEqual(extractCodeBlocks('> ```go\n> x :=\n\nAfter the quote'), [{ language: 'go', line: 1, content: 'x :=', closed: false }]);
  assert.deepEqual(extractCodeBlocks('````ts\nconst a = 1;\n```'), [{ language: 'ts', line: 1, content: 'const a = 1;\n```', closed: false }]);
  assert.deepEqual(extractCodeBlocks('```\n```'), [{ language: null, line: 1, content: '', closed: true }]);
});

test('the Dockerfile checks on the parsed instructions', () => {
  assert.equal(checkDockerfile('from alpine\nrun echo lower-case instructions are fine'), null);
  assert.equal(checkDockerfile('FROM alpine\nADD <<EOF /etc/motd\nhello\nEOF\nONBUILD RUN echo later'), null);
  assert.deepEqual(checkDockerfile('FROM alpine\nONBUILD COPPY . /app'), { line: 2, message: 'ONBUILD trigger "COPPY" is not an instruction' });
  assert.deepEqual(checkDockerfile('FROM alpine\nONBUILD ONBUILD RUN x'), { line: 2, message: 'ONBUILD may not trigger ONBUILD' });
  // As docker reads them: a blank line inside a continuation is skipped (COPPY is an argument of
  // RUN), and a quoted "<<EOF" is no heredoc.
  assert.equal(checkDockerfile('FROM alpine\nRUN echo \\\n\n  COPPY x'), null);
  assert.equal(checkDockerfile('FROM alpine\nRUN echo "<<EOF"'), null);
  assert.deepEqual(checkDockerfile('FROM alpine\nONBUILD RUN <<EOF\necho'), { line: 2, message: 'heredoc <<EOF is never closed by a line "EOF"' });
  assert.deepEqual(checkDockerfile('# escape=x\nFROM alpine'), { line: 1, message: 'escape directive must be \\ or `, got x' });
  assert.deepEqual(checkDockerfile('FROM alpine\nRUN apt-get install \\\n  curl\nEXPOSE'), { line: 4, message: 'EXPOSE needs arguments' });
});

test('a missing parser binary is a clear error, not a skipped block', async () => {
  // Every start fails as a command that is not installed does.
  const nothingInstalled: SpawnProcess = (command, args) => spawnInOwnGroup(path.join(tmp, 'no-such-bin', path.basename(command)), args);
  await assert.rejects(
    validate([trace(0)], { ...SMALL, spawn: nothingInstalled }),
    { name: 'MissingToolError', message: 'python3 is needed to check python code blocks but was not found (tried python3); install Python 3 (apt-get install python3)' },
  );
});

test('every problem is reported at once', async () => {
  const data = [trace(0, { tags: ['python'], solution: solutionWith('ts', 'const = 1') }), trace(1, { seed_key: 'requests-retry-backoff', agent_model: '' })];
  const report = await validate(data);
  assert.deepEqual(
    report.problems.map((p) => `${p.path} ${p.message}`),
    [
      '$[0].tags must have at least 2 items, got 1',
      '$[0].solution ts block at solution line 3 does not parse: block line 1: Variable declaration expected.',
      '$[1].agent_model must not be empty',
      '$[1].seed_key duplicate seed_key "requests-retry-backoff", first used at $[0]',
    ],
  );
});

test('SeedValidationError lists every problem and says what to do', async () => {
  const file = await writeTemp(JSON.stringify([trace(0, { tags: ['python'] })]));
  await assert.rejects(assertValidSeedFile(file, SMALL), (err: unknown) => {
    assert.ok(err instanceof SeedValidationError);
    assert.equal(err.problems.length, 1);
    assert.equal(
      err.message,
      `${file} has 1 problem(s); fix each one in the file, then run \`seeds validate\` again:\n  requests-retry-backoff  $[0].tags  must have at least 2 items, got 1`,
    );
    return true;
  });
});

// --- the CLI -----------------------------------------------------------------------------------

async function runValidateCommand(args: string[]): Promise<{ out: string; exitCode: typeof process.exitCode }> {
  const program = new Command().exitOverride();
  registerSeedCommands(program);
  const lines: string[] = [];
  const log = console.log;
  const savedExit = process.exitCode;
  console.log = (...parts: unknown[]) => lines.push(parts.join(' '));
  try {
    await program.parseAsync(['node', 'cli', 'seeds', 'validate', ...args]);
    return { out: lines.join('\n'), exitCode: process.exitCode };
  } finally {
    console.log = log;
    process.exitCode = savedExit;
  }
}

test('`seeds validate` prints a summary and each problem, and exits 1', async () => {
  const file = await writeTemp(JSON.stringify([trace(0, { tags: ['python', 'Bad Tag!'] }), trace(1)]));
  const { out, exitCode } = await runValidateCommand([file, '--sample']);
  assert.equal(exitCode, 1);
  assert.match(out, /: 2 traces in 1 cluster$/m);
  assert.match(out, /^python\s+1\s+1\s+0$/m);
  assert.match(out, /^2 code blocks: 2 checked \(0 failed\), 0 unchecked \(0\.0%\)$/m);
  assert.match(out, /^requests-retry-backoff\s+\$\[0\]\.tags\[1\]\s+invalid tag "Bad Tag!"/m);
});

test('`seeds validate --json` prints the report and exits 0 when clean', async () => {
  const file = await writeTemp(JSON.stringify(corpus()));
  const { out, exitCode } = await runValidateCommand([file, '--json', '--min-clusters', '4']);
  assert.equal(exitCode, 0);
  const report = JSON.parse(out) as { ok: boolean; traces: number; path: string };
  assert.equal(report.ok, true);
  assert.equal(report.traces, 12);
  assert.equal(report.path, file);
});

// --- the real fixtures ---------------------------------------------------------------------------

const SEED_FIXTURE = path.join(REPO_ROOT, 'fixtures/seed_traces.json');
const SAMPLE_FIXTURE = path.join(REPO_ROOT, 'fixtures/sample_traces.json');

test('fixtures/seed_traces.json passes the full corpus rules', async () => {
  assert.ok(existsSync(SEED_FIXTURE), `${SEED_FIXTURE} is missing`);
  const report = await validateSeedFile(SEED_FIXTURE);
  assert.deepEqual(report.problems, []);
  assert.equal(report.ok, true);
});

test('fixtures/sample_traces.json passes as a small fixture', async () => {
  assert.ok(existsSync(SAMPLE_FIXTURE), `${SAMPLE_FIXTURE} is missing`);
  const report = await validateSeedFile(SAMPLE_FIXTURE, { corpus: false });
  assert.deepEqual(report.problems, []);
});
