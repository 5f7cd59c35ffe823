/**
 * The seed-corpus validator: everything wrong with a seed file, found before anything is imported.
 * It never stops at the first problem, so one run gives an author the whole list to fix.
 */
import { readFile } from 'node:fs/promises';
import type * as TypeScript from 'typescript';
import { normalizeTag, tagProblem } from '../tags.js';
import { cosineSimilarity, traceEmbeddingText } from '../embeddings/embedder.js';
import { embedLocal } from '../embeddings/local.js';
import { checkBlocks, checkerFor, type Checker, type CheckOptions } from './code-blocks/registry.js';
import { extractCodeBlocks } from './code-blocks/fences.js';
import { seedTraceProblems, typeName } from './schema.js';
import { lazyModule } from '../lazy-module.js';

/** Only a malformed seed file needs TypeScript's JSON parser (to locate the error). */
const typescript = lazyModule<typeof TypeScript>('typescript');

export const CLUSTER_MIN_TRACES = 3;
export const CLUSTER_MAX_TRACES = 6;
export const DEFAULT_MIN_CLUSTERS = 60;
export const DEFAULT_MAX_UNCHECKED_SHARE = 0.1;
export const DEFAULT_NEAR_DUPLICATE_SIMILARITY = 0.95;
/** Key in `languages` for fences without a language tag. */
export const UNTAGGED = '(untagged)';

export interface SeedProblem {
  seedKey?: string;
  /** JSON path into the file, e.g. `$[12].tags[3]`; `$` for the file as a whole. */
  path: string;
  message: string;
}

export interface SeedValidationOptions extends CheckOptions {
  /** Apply the corpus-size rules (cluster sizes, cluster count, trace count); off for small fixtures. */
  corpus?: boolean;
  minClusters?: number;
  minTraces?: number;
  maxUncheckedShare?: number;
  nearDuplicateSimilarity?: number;
}

export interface LanguageStats {
  blocks: number;
  checked: number;
  failed: number;
}

export interface SeedValidationReport {
  ok: boolean;
  traces: number;
  clusters: number;
  /** Keyed by checker for checked languages (ts and typescript both count as `typescript`), else by tag. */
  languages: Record<string, LanguageStats>;
  blocks: { total: number; checked: number; unchecked: number; failed: number; uncheckedShare: number };
  problems: SeedProblem[];
}

export class SeedValidationError extends Error {
  constructor(
    readonly problems: readonly SeedProblem[],
    source = 'the seed data',
  ) {
    super(
      `${source} has ${problems.length} problem(s); fix each one in the file, then run \`seeds validate\` again:\n` +
        problems.map((p) => `  ${formatProblem(p)}`).join('\n'),
    );
    this.name = 'SeedValidationError';
  }
}

export function formatProblem(p: SeedProblem): string {
  return `${p.seedKey ?? '-'}  ${p.path}  ${p.message}`;
}

/** Validates and throws a SeedValidationError listing every problem, for callers that only go on when clean. */
export async function assertValidSeedFile(path: string, options?: SeedValidationOptions): Promise<SeedValidationReport> {
  const report = await validateSeedFile(path, options);
  if (!report.ok) throw new SeedValidationError(report.problems, path);
  return report;
}

/** An unreadable file throws (nothing to report on); a readable one always yields a report. */
export async function validateSeedFile(path: string, options?: SeedValidationOptions): Promise<SeedValidationReport> {
  const bytes = await readFile(path).catch((err: Error) => {
    throw new Error(`cannot read seed file ${path}: ${err.message}`, { cause: err });
  });
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return emptyReport([{ path: '$', message: 'file is not valid UTF-8' }]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return emptyReport([{ path: '$', message: `invalid JSON: ${jsonErrorMessage(err as Error, text)}` }]);
  }
  return validateSeedData(raw, options);
}

function jsonErrorMessage(err: Error, text: string): string {
  // V8 may quote the offending text, newlines included; one problem must stay on one line.
  const message = err.message.replace(/\r?\n/g, '\\n');
  if (/\bline \d+/.test(message)) return message;
  const offset = jsonErrorOffset(message, text);
  if (offset === undefined) return message;
  const before = text.slice(0, offset);
  return `${message} (line ${before.split('\n').length}, column ${before.length - before.lastIndexOf('\n')})`;
}

function jsonErrorOffset(message: string, text: string): number | undefined {
  const position = /at position (\d+)/.exec(message);
  if (position) return Number(position[1]);
  // V8's "Unexpected token" form gives no offset, useless in a large file; TypeScript's JSON parser finds it.
  const file = typescript().parseJsonText('seeds.json', text);
  return (file as unknown as { parseDiagnostics: readonly TypeScript.Diagnostic[] }).parseDiagnostics[0]?.start;
}

function emptyReport(problems: SeedProblem[]): SeedValidationReport {
  return {
    ok: problems.length === 0,
    traces: 0,
    clusters: 0,
    languages: {},
    blocks: { total: 0, checked: 0, unchecked: 0, failed: 0, uncheckedShare: 0 },
    problems,
  };
}

/** One array entry, with whatever fields had the right type, so later checks can still run on it. */
interface Entry {
  index: number;
  seedKey?: string;
  title?: string;
  context?: string;
  solution?: string;
  cluster?: string;
  tags: string[];
  problems: SeedProblem[];
}

export async function validateSeedData(raw: unknown, options: SeedValidationOptions = {}): Promise<SeedValidationReport> {
  if (!Array.isArray(raw)) return emptyReport([{ path: '$', message: `top level must be an array of traces, got ${typeName(raw)}` }]);
  const entries = raw.map(readEntry);
  const corpusProblems: SeedProblem[] = [];

  for (const entry of entries) checkTags(entry, raw[entry.index]);
  const solutionsChecked = checkSolutions(entries, options);
  solutionsChecked.catch(() => {}); // rethrown by the await below, not an unhandled rejection meanwhile
  // The embeddings of the near-duplicate check are computed while the code-block checker processes
  // run (a macrotask later, so they have started); their problems are added in the usual order.
  await new Promise((resolve) => setImmediate(resolve));
  const nearDuplicates = findNearDuplicates(entries, options.nearDuplicateSimilarity ?? DEFAULT_NEAR_DUPLICATE_SIMILARITY);
  const { languages, blocks } = await solutionsChecked;
  checkUnique(entries, (e) => e.seedKey, 'seed_key', (key, first) => `duplicate seed_key "${key}", first used at ${pathOf(first)}`);
  checkUnique(
    entries,
    (e) => e.title?.trim().toLowerCase(),
    'title',
    (_, first) => `duplicate title: same as ${describe(first)}, ignoring case and surrounding spaces`,
  );
  for (const { entry, message } of nearDuplicates) add(entry, [], message);
  const clusters = new Set(entries.flatMap((e) => (e.cluster === undefined ? [] : [e.cluster])));
  if (options.corpus ?? true) corpusProblems.push(...checkCorpus(entries, clusters.size, options));

  const maxShare = options.maxUncheckedShare ?? DEFAULT_MAX_UNCHECKED_SHARE;
  if (blocks.uncheckedShare > maxShare) corpusProblems.push({ path: '$', message: uncheckedMessage(languages, blocks, maxShare) });

  const problems = [...entries.flatMap((e) => e.problems), ...corpusProblems];
  return { ok: problems.length === 0, traces: entries.length, clusters: clusters.size, languages, blocks, problems };
}

function pathOf(entry: Entry, sub: (string | number)[] = []): string {
  return `$[${entry.index}]${sub.map((k) => (typeof k === 'number' ? `[${k}]` : /^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`)).join('')}`;
}

function describe(entry: Entry): string {
  return entry.seedKey === undefined ? pathOf(entry) : `"${entry.seedKey}" (${pathOf(entry)})`;
}

function add(entry: Entry, sub: (string | number)[], message: string): void {
  entry.problems.push({ ...(entry.seedKey !== undefined && { seedKey: entry.seedKey }), path: pathOf(entry, sub), message });
}

function readEntry(value: unknown, index: number): Entry {
  const obj = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  const str = (key: string) => (typeof obj[key] === 'string' ? (obj[key] as string) : undefined);
  const entry: Entry = {
    index,
    seedKey: str('seed_key'),
    title: str('title'),
    context: str('context'),
    solution: str('solution'),
    cluster: str('cluster'),
    tags: Array.isArray(obj.tags) ? obj.tags.filter((t): t is string => typeof t === 'string') : [],
    problems: [],
  };
  for (const p of seedTraceProblems(value)) add(entry, p.path, p.message);
  return entry;
}

function checkTags(entry: Entry, value: unknown): void {
  const raw = (value as { tags?: unknown } | null)?.tags;
  if (!Array.isArray(raw)) return;
  const seen = new Map<string, number>();
  const valid: string[] = [];
  raw.forEach((tag: unknown, i) => {
    if (typeof tag !== 'string') return;
    const normalized = normalizeTag(tag);
    const problem = tagProblem(normalized);
    const first = seen.get(normalized);
    if (problem) add(entry, ['tags', i], `invalid tag ${JSON.stringify(tag)}: ${problem}`);
    else if (first !== undefined) add(entry, ['tags', i], `tag ${JSON.stringify(tag)} normalizes to "${normalized}", the same as tags[${first}]`);
    else {
      seen.set(normalized, i);
      valid.push(normalized);
    }
  });
  entry.tags = valid;
}

async function checkSolutions(
  entries: Entry[],
  options: CheckOptions,
): Promise<{ languages: Record<string, LanguageStats>; blocks: SeedValidationReport['blocks'] }> {
  const languages: Record<string, LanguageStats> = {};
  const stats = (key: string) => (languages[key] ??= { blocks: 0, checked: 0, failed: 0 });
  const toCheck: { entry: Entry; line: number; language: string; checker: Checker; content: string }[] = [];
  let total = 0;
  // Only the solution is checked: a context often quotes the broken code the trace is about.
  for (const entry of entries) {
    if (entry.solution === undefined || entry.solution.trim() === '') continue;
    const found = extractCodeBlocks(entry.solution);
    if (found.length === 0) add(entry, ['solution'], 'solution has no fenced code block');
    for (const block of found) {
      total++;
      if (!block.closed) add(entry, ['solution'], `code block at solution line ${block.line} is never closed`);
      const checker = checkerFor(block.language);
      if (block.language === null) {
        add(entry, ['solution'], `code block without a language tag at solution line ${block.line}`);
        stats(UNTAGGED).blocks++;
      } else if (checker === null) {
        stats(block.language).blocks++;
      } else {
        stats(checker).blocks++;
        stats(checker).checked++;
        toCheck.push({ entry, line: block.line, language: block.language, checker, content: block.content });
      }
    }
  }
  const results = await checkBlocks(toCheck, options);
  let failed = 0;
  results.forEach((problem, i) => {
    if (!problem) return;
    const block = toCheck[i]!;
    failed++;
    stats(block.checker).failed++;
    const where = problem.line === undefined ? '' : `block line ${problem.line}: `;
    add(block.entry, ['solution'], `${block.language} block at solution line ${block.line} does not parse: ${where}${problem.message}`);
  });
  const checked = toCheck.length;
  return {
    languages: Object.fromEntries(Object.entries(languages).sort(([a], [b]) => a.localeCompare(b))),
    blocks: { total, checked, unchecked: total - checked, failed, uncheckedShare: total === 0 ? 0 : (total - checked) / total },
  };
}

function checkUnique(
  entries: Entry[],
  keyOf: (e: Entry) => string | undefined,
  field: string,
  message: (key: string, first: Entry) => string,
): void {
  const firstByKey = new Map<string, Entry>();
  for (const entry of entries) {
    const key = keyOf(entry);
    if (key === undefined || key === '') continue;
    const first = firstByKey.get(key);
    if (first) add(entry, [field], message(key, first));
    else firstByKey.set(key, entry);
  }
}

function findNearDuplicates(entries: Entry[], threshold: number): { entry: Entry; message: string }[] {
  const found: { entry: Entry; message: string }[] = [];
  const comparable = entries.filter((e) => e.title !== undefined && e.context !== undefined && e.solution !== undefined);
  const vectors = comparable.map((e) => embedLocal(traceEmbeddingText({ title: e.title!, contextText: e.context!, solutionText: e.solution!, tags: e.tags })));
  const solutions = comparable.map((e) => e.solution!.toLowerCase().replace(/\s+/g, ' ').trim());
  for (let j = 0; j < comparable.length; j++) {
    for (let i = 0; i < j; i++) {
      const reasons: string[] = [];
      if (solutions[i] === solutions[j] && solutions[j] !== '') reasons.push('identical solution');
      const similarity = cosineSimilarity(vectors[i]!, vectors[j]!);
      if (similarity > threshold) reasons.push(`local-embedding cosine similarity ${similarity.toFixed(4)} > ${threshold}`);
      if (reasons.length === 0) continue;
      found.push({ entry: comparable[j]!, message: `near-duplicate of ${describe(comparable[i]!)}: ${reasons.join(', ')}` });
    }
  }
  return found;
}

function checkCorpus(entries: Entry[], clusterCount: number, options: SeedValidationOptions): SeedProblem[] {
  const members = new Map<string, Entry[]>();
  for (const e of entries) if (e.cluster !== undefined) members.set(e.cluster, [...(members.get(e.cluster) ?? []), e]);
  for (const [cluster, list] of members) {
    if (list.length >= CLUSTER_MIN_TRACES && list.length <= CLUSTER_MAX_TRACES) continue;
    const keys = list.map((e) => e.seedKey ?? pathOf(e));
    const shown = keys.length > 8 ? `${keys.slice(0, 8).join(', ')}, …` : keys.join(', ');
    add(
      list[0]!,
      ['cluster'],
      `cluster "${cluster}" has ${list.length} trace${list.length === 1 ? '' : 's'} (${shown}); each cluster needs ${CLUSTER_MIN_TRACES}–${CLUSTER_MAX_TRACES}`,
    );
  }
  const problems: SeedProblem[] = [];
  const minClusters = options.minClusters ?? DEFAULT_MIN_CLUSTERS;
  const minTraces = options.minTraces ?? 0;
  if (clusterCount < minClusters) problems.push({ path: '$', message: `the corpus has ${clusterCount} clusters; at least ${minClusters} are needed` });
  if (entries.length < minTraces) problems.push({ path: '$', message: `the corpus has ${entries.length} traces; at least ${minTraces} are needed` });
  return problems;
}

function uncheckedMessage(languages: Record<string, LanguageStats>, blocks: SeedValidationReport['blocks'], maxShare: number): string {
  const unchecked = Object.entries(languages)
    .filter(([, s]) => s.checked < s.blocks)
    .map(([lang, s]) => `${lang}: ${s.blocks - s.checked}`)
    .join(', ');
  return (
    `${blocks.unchecked} of ${blocks.total} code blocks (${percent(blocks.uncheckedShare)}) are in languages nothing checks (${unchecked}); ` +
    `at most ${percent(maxShare)} may be — tag them with a checked language or drop them`
  );
}

export function percent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}
