/**
 * Semantic search over traces: the one implementation behind the API, the CLI and the smoke check.
 *
 * 1. Embed the query with the active embedder.
 * 2. One statement, one round trip (SEARCH_SQL): the HNSW approximate nearest candidates (or, for
 *    tags on few rows, every row carrying them: the exact route), their trust re-ranking, the final
 *    k rows' tags, and a certificate that the re-ranking lost nothing.
 *    Session settings (ef_search, iterative scans) come with the connection (searchSessionOptions),
 *    the vector travels in pgvector's binary form, and the statement is a named prepared statement.
 * 3. Re-rank by  score = (1 - TRUST_WEIGHT) · similarity + TRUST_WEIGHT · trust_score,
 *    with similarity = 1 - cosine distance and trust_score clamped to [0, 1]. A validated trace
 *    (trust 1.0) beats an unconfirmed one (trust 0) of equal similarity by TRUST_WEIGHT.
 *
 * How many candidates re-ranking needs (the bound). A row outside the candidates is no more similar
 * than the least similar candidate (s_min), and its trust is at most 1, so its score is at most
 * (1 - W)·s_min + W. If the k-th best score among the candidates is above that, no row outside them
 * can enter the top k: the re-ranked top k over the candidates is the re-ranked top k over every row
 * the index would return in that order. When all candidates share one trust value this holds as soon
 * as s_min is below the k-th similarity, so the first fetch asks for only firstCandidates(k) rows. When
 * it fails (mixed trust among near-equal neighbours), the same statement fetches wideCandidates(k)
 * rows instead and checks the bound again; the result says whether it holds (`certified`).
 *
 * Index types (src/db/hnsw.ts). On the `vector` index the candidates come in full-precision order.
 * On the `halfvec` expression index they come in half-precision order (ORDER BY
 * embedding::halfvec(1536) <=> $1::vector::halfvec(1536), the index expression exactly) and are
 * re-ranked with the full-precision distance `embedding <=> $1`; every similarity and score the
 * search returns is full precision. A row outside such candidates is no closer in half precision
 * than the farthest candidate, so in full precision it is at most HALFVEC_DISTANCE_SLACK closer: the
 * bound uses that farthest half-precision distance minus the slack.
 */
import type pg from 'pg';
import { annDistance, DEFAULT_EF_SEARCH, HALFVEC_DISTANCE_SLACK, searchSessionOptions, type IndexType } from '../db/hnsw.js';
import { searchIndexType } from './index-type.js';
import { encodeVector } from '../db/vector-binary.js';
import { EXACT_FILTER_MAX_ROWS, firstCandidates, MAX_K, rerankScore, scoreCeiling, TRUST_WEIGHT, wideCandidates, MAX_WIDE_CANDIDATES } from './candidates.js';
import type { Embedder } from '../embeddings/embedder.js';

export { EXACT_FILTER_MAX_ROWS, DEFAULT_EF_SEARCH, searchSessionOptions, firstCandidates, MAX_K, rerankScore, scoreCeiling, TRUST_WEIGHT, wideCandidates, MAX_WIDE_CANDIDATES };
export interface SearchOptions {
  k?: number;
  tags?: string[];
  /** Must match the connection's hnsw.ef_search (it sizes the first fetch, not the scan). */
  efSearch?: number;
  /** The index the statement is written for; default: the one the database has (searchIndexType). */
  indexType?: IndexType;
}

export interface SearchHit {
  id: string;
  title: string;
  seedKey: string | null;
  similarity: number;
  trustScore: number;
  score: number;
  status: string;
  tags: string[];
}

export interface SearchResult {
  hits: SearchHit[];
  /** Rows the final re-ranking chose from. */
  candidates: number;
  /** The widened fetch ran (the first could not certify the re-ranking). */
  widened: boolean;
  /** The bound holds: no row beyond the candidates could have entered the top k. */
  certified: boolean;
  /** The exact route ran: the tags were selective enough to read every row carrying them. */
  exact: boolean;
}

const W = TRUST_WEIGHT;
const SCORE = `(${1 - W})::float8 * (1 - c.distance) + ${W}::float8 * least(1, greatest(0, c.trust_score))`;
const TAGGED = `SELECT tt.trace_id FROM trace_tags tt JOIN tags tg ON tg.id = tt.tag_id WHERE tg.name = ANY($3::text[])`;
/** Searchable: embedded by the active model, not flagged, not rejected. */
const SEARCHABLE = `t.embedding_model_id = $2
           AND NOT t.is_flagged
           AND t.status <> 'rejected'`;
const CANDIDATE_FILTERS = `${SEARCHABLE}
           AND (cardinality($3::text[]) = 0 OR EXISTS (
                 SELECT 1 FROM trace_tags tt JOIN tags tg ON tg.id = tt.tag_id
                  WHERE tt.trace_id = t.id AND tg.name = ANY($3::text[])))`;
/**
 * A candidate's columns. `ann` says whether to compute the half-precision distance the halfvec index
 * orders by (the HNSW routes' certificate needs it); the exact route needs none, and computing it
 * would read each row's TOASTed vector a second time.
 */
const candidateColumns = (type: IndexType, ann = true) =>
  `t.id, t.title, t.seed_key, t.status, t.trust_score, t.embedding <=> $1::vector AS distance${
    type === 'halfvec' ? `, ${ann ? annDistance(type, 't.embedding', '$1') : 'NULL::float8'} AS ann_distance` : ''}`;
/**
 * The candidates in index order. `distance` is always the full-precision cosine distance (the
 * re-ranking's); on the halfvec index `ann_distance` is the half-precision one the index orders by.
 */
const candidateScan = (type: IndexType, limit: string, gate: string) => `SELECT ${candidateColumns(type)}
          FROM traces t
         WHERE ${gate} AND ${CANDIDATE_FILTERS}
         ORDER BY ${type === 'halfvec' ? 'ann_distance' : 'distance'}
         LIMIT ${limit}`;
/**
 * Every searchable row carrying one of the tags, with its exact distance: the candidates when the
 * tags are selective. Reached through ix_trace_tags_tag, not the HNSW index, so it cannot lose a row.
 */
const exactScan = (type: IndexType) => `SELECT ${candidateColumns(type, false)}
          FROM traces t
         WHERE (SELECT exact FROM route) AND t.id IN (${TAGGED}) AND ${SEARCHABLE}`;
/**
 * The least distance a row outside a candidate set can have: the set's farthest distance in the
 * index's own order, less the half-precision slack on the halfvec index.
 */
const outsideDistance = (type: IndexType) => (type === 'halfvec' ? `(max(ann_distance) - ${HALFVEC_DISTANCE_SLACK}::float8)` : 'max(distance)');
/**
 * The bound over a candidate set: its k-th best score beats the best score a row beyond it could
 * reach. Fewer than k candidates certify nothing: an HNSW scan that returns fewer rows than asked
 * may have given up (hnsw.max_scan_tuples) rather than run out of matching rows.
 */
const certifiedOver = (type: IndexType, set: string) => `(SELECT coalesce((SELECT ${SCORE} FROM ${set} c ORDER BY 1 DESC OFFSET $5 - 1 LIMIT 1), '-Infinity')
               > ${1 - W}::float8 * (1 - ${outsideDistance(type)}) + ${W}::float8
          FROM ${set})`;

/**
 * The search statement for the index of `type`. $1 query vector (binary `vector`), $2 model id,
 * $3 tags (any of), $4 first fetch, $5 k, $6 widened fetch, $7 the most tagged rows searched exactly.
 *
 * Two routes, each behind a one-time filter so only one runs:
 * - exact: the tags are on at most $7 rows (counted through ix_trace_tags_tag, and never more than
 *   $7 + 1 of them): every searchable row with the tags is a candidate, with its exact distance.
 *   An HNSW scan filtered to a small share of the rows loses recall (its graph neighbours mostly
 *   fail the filter; pgvector issues 259, 719, 721) and costs more than reading those few rows.
 * - HNSW: the first fetch, and the widened one only when the first fetch's certificate fails.
 * Benchmarks time this exact text.
 */
export function searchSql(type: IndexType): string {
  return `WITH route AS MATERIALIZED (
        SELECT cardinality($3::text[]) > 0
               AND (SELECT count(*) FROM (${TAGGED} LIMIT $7::int + 1) tagged) <= $7::int AS exact
     ), exact AS MATERIALIZED (
        ${exactScan(type)}
     ), first AS MATERIALIZED (
        ${candidateScan(type, '$4', 'NOT (SELECT exact FROM route)')}
     ), first_ok AS MATERIALIZED (
        SELECT (SELECT exact FROM route) OR ${certifiedOver(type, 'first')} AS ok
     ), wide AS MATERIALIZED (
        ${candidateScan(type, '$6', 'NOT (SELECT ok FROM first_ok)')}
     ), candidates AS (
        SELECT * FROM exact
        UNION ALL
        SELECT * FROM first WHERE (SELECT ok FROM first_ok)
        UNION ALL
        SELECT * FROM wide
     ), top AS (
        SELECT c.*, ${SCORE} AS score FROM candidates c ORDER BY score DESC, c.distance LIMIT $5
     )
     SELECT top.id, top.title, top.seed_key, top.status, top.trust_score, 1 - top.distance AS similarity, top.score,
            coalesce((SELECT array_agg(tg.name ORDER BY tg.name) FROM trace_tags tt JOIN tags tg ON tg.id = tt.tag_id
                       WHERE tt.trace_id = top.id), '{}') AS tags,
            (SELECT count(*) FROM candidates)::int AS candidates,
            (SELECT exact FROM route) AS exact,
            NOT (SELECT ok FROM first_ok) AS widened,
            (SELECT ok FROM first_ok) OR (SELECT ${certifiedOver(type, 'wide')}) AS certified
       FROM top
      ORDER BY top.score DESC, top.distance`;
}

/** The statement on the migration's full-precision index. */
export const SEARCH_SQL = searchSql('vector');

/** The statement's name on every connection: prepared once per connection, then only bound. */
export const SEARCH_STATEMENT_NAME = 'commontrace_search_v1';
const STATEMENT_NAMES: Record<IndexType, string> = { vector: SEARCH_STATEMENT_NAME, halfvec: 'commontrace_search_halfvec_v1' };
const STATEMENTS: Record<IndexType, string> = { vector: SEARCH_SQL, halfvec: searchSql('halfvec') };

interface SearchRow {
  id: string; title: string; seed_key: string | null; status: string; trust_score: number; similarity: number; score: number;
  tags: string[]; candidates: number; exact: boolean; widened: boolean; certified: boolean;
}

export interface SearchParams {
  modelId: string;
  k: number;
  efSearch: number;
  tags?: readonly string[];
  /** The index the statement is written for (default vector, the migration's). */
  indexType?: IndexType;
  /** Tags on at most this many rows are searched exactly (default EXACT_FILTER_MAX_ROWS; 0: always HNSW). */
  exactFilterMaxRows?: number;
}

/** The prepared-statement config of one search, for callers that time or count the raw query. */
export function searchQuery(vector: Buffer, p: SearchParams): pg.QueryConfig {
  const type = p.indexType ?? 'vector';
  return {
    name: STATEMENT_NAMES[type],
    text: STATEMENTS[type],
    values: [vector, p.modelId, p.tags ?? [], firstCandidates(p.k, p.efSearch), p.k, wideCandidates(p.k), p.exactFilterMaxRows ?? EXACT_FILTER_MAX_ROWS],
  };
}

export function toSearchResult(rows: readonly SearchRow[]): SearchResult {
  const first = rows[0];
  return {
    hits: rows.map((r) => ({
      id: r.id,
      title: r.title,
      seedKey: r.seed_key,
      similarity: r.similarity,
      trustScore: r.trust_score,
      score: r.score,
      status: r.status,
      tags: r.tags,
    })),
    candidates: first?.candidates ?? 0,
    exact: first?.exact ?? false,
    widened: first?.widened ?? false,
    // No rows: nothing matched the filters at all, so nothing was lost either.
    certified: first?.certified ?? true,
  };
}

/**
 * One search statement for an encoded query vector, on a pool or a connection with searchSessionOptions;
 * without p.indexType, for the index the database has.
 */
export async function searchByEncodedVector(db: pg.Pool | pg.ClientBase, vector: Buffer, p: SearchParams): Promise<SearchResult> {
  const indexType = p.indexType ?? (await searchIndexType(db));
  const { rows } = await db.query<SearchRow>(searchQuery(vector, { ...p, indexType }));
  return toSearchResult(rows);
}

async function normalizedParams(db: pg.Pool, modelId: string, options: SearchOptions): Promise<SearchParams> {
  return {
    modelId, k: Math.min(options.k ?? 5, MAX_K), efSearch: options.efSearch ?? DEFAULT_EF_SEARCH, tags: options.tags ?? [],
    indexType: options.indexType ?? (await searchIndexType(db)),
  };
}

export async function searchByVector(pool: pg.Pool, vector: readonly number[], modelId: string, options: SearchOptions = {}): Promise<SearchHit[]> {
  return (await searchByEncodedVector(pool, encodeVector(vector), await normalizedParams(pool, modelId, options))).hits;
}

/** Milliseconds each stage of one search took; the API reports them in Server-Timing and /metrics. */
export interface SearchTiming {
  embedMs: number;
  dbMs: number;
  rerankMs: number;
}

export interface TimedSearch extends SearchResult {
  timing: SearchTiming;
}

/** A text with nothing to embed (punctuation only) has no direction; cosine distance to it is NaN. */
const hasDirection = (v: readonly number[] | undefined): v is number[] => v !== undefined && v.some((x) => x !== 0);

/**
 * Embeds the query and searches, timing each stage. The re-ranking itself runs inside the statement
 * (so only the final k rows and their tags leave the database); `rerankMs` is the time spent turning
 * those rows into hits after the statement returned.
 */
export async function searchTracesTimed(pool: pg.Pool, embedder: Embedder, query: string, options: SearchOptions = {}): Promise<TimedSearch> {
  // Reads the pool's index type once (then cached), outside the stage timings.
  const params = await normalizedParams(pool, embedder.modelId, options);
  const t0 = performance.now();
  const [vector] = await embedder.embed([query]);
  const t1 = performance.now();
  if (!hasDirection(vector)) {
    return { hits: [], candidates: 0, exact: false, widened: false, certified: true, timing: { embedMs: t1 - t0, dbMs: 0, rerankMs: 0 } };
  }
  const { rows } = await pool.query<SearchRow>(searchQuery(encodeVector(vector), params));
  const t2 = performance.now();
  const result = toSearchResult(rows);
  const t3 = performance.now();
  return { ...result, timing: { embedMs: t1 - t0, dbMs: t2 - t1, rerankMs: t3 - t2 } };
}

export async function searchTraces(pool: pg.Pool, embedder: Embedder, query: string, options: SearchOptions = {}): Promise<SearchHit[]> {
  return (await searchTracesTimed(pool, embedder, query, options)).hits;
}
