/**
 * First-query relevance: runs the golden queries through the real search path and scores them.
 * A query hits when one of its expected seeds (or, failing that, any seed of its expected cluster)
 * is among the top k results.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type pg from 'pg';
import type { Embedder } from '../embeddings/embedder.js';
import { searchTraces } from './search.js';

export const goldenQuerySchema = z
  .object({
    query: z.string().min(3),
    expect_seed_keys: z.array(z.string()).default([]),
    expect_cluster: z.string().optional(),
  })
  .refine((q) => q.expect_seed_keys.length > 0 || q.expect_cluster, { message: 'needs expect_seed_keys or expect_cluster' });

export type GoldenQuery = z.infer<typeof goldenQuerySchema>;

export interface QueryOutcome {
  query: string;
  rank: number | null;
  top: string[];
  expected: string[];
}

export interface RelevanceReport {
  queries: number;
  hitAt1: number;
  hitAt5: number;
  mrr: number;
  failures: QueryOutcome[];
}

export async function loadGoldenQueries(path: string): Promise<GoldenQuery[]> {
  const parsed = z.array(goldenQuerySchema).safeParse(JSON.parse(await readFile(path, 'utf8')));
  if (!parsed.success) {
    throw new Error(`Golden queries ${path} are invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

/** Hit@k and mean reciprocal rank over the ranks (1-based; null when not in the top k). */
export function scoreRanks(ranks: (number | null)[]): { hitAt1: number; hitAt5: number; mrr: number } {
  const n = ranks.length || 1;
  return {
    hitAt1: ranks.filter((r) => r === 1).length / n,
    hitAt5: ranks.filter((r) => r !== null && r <= 5).length / n,
    mrr: ranks.reduce<number>((sum, r) => sum + (r === null ? 0 : 1 / r), 0) / n,
  };
}

export async function evaluateGoldenQueries(
  pool: pg.Pool,
  embedder: Embedder,
  queries: GoldenQuery[],
  clusterOf: Map<string, string>,
  k = 10,
): Promise<RelevanceReport> {
  const outcomes: QueryOutcome[] = [];
  for (const q of queries) {
    const hits = await searchTraces(pool, embedder, q.query, { k });
    const keys = hits.map((h) => h.seedKey ?? h.id);
    const isExpected = (key: string) =>
      q.expect_seed_keys.length > 0 ? q.expect_seed_keys.includes(key) : clusterOf.get(key) === q.expect_cluster;
    const index = keys.findIndex(isExpected);
    outcomes.push({
      query: q.query,
      rank: index === -1 ? null : index + 1,
      top: keys.slice(0, 5),
      expected: q.expect_seed_keys.length > 0 ? q.expect_seed_keys : [`cluster:${q.expect_cluster}`],
    });
  }
  return {
    queries: outcomes.length,
    ...scoreRanks(outcomes.map((o) => o.rank)),
    failures: outcomes.filter((o) => o.rank === null || o.rank > 5),
  };
}
