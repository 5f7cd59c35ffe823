/**
 * The CommonTrace data model (DESIGN.md §2) plus this project's own ledgers. drizzle-kit generates
 * the migrations in drizzle/ from this file; `CREATE EXTENSION vector` lives in a custom migration
 * that runs first, because drizzle-kit does not emit extensions.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  serial,
  text,
  timestamp,
  uniqueIndex,
  uuid,
  vector,
} from 'drizzle-orm/pg-core';

import { EMBEDDING_DIMENSIONS, HNSW_EF_CONSTRUCTION, HNSW_INDEX_NAME, HNSW_M } from './constants.js';

export const traceStatus = pgEnum('trace_status', ['pending', 'validated', 'rejected']);

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();

export const users = pgTable('users', {
  id: uuid('id').primaryKey().defaultRandom(),
  email: text('email').notNull().unique(),
  displayName: text('display_name'),
  isSeed: boolean('is_seed').notNull().default(false),
  /** Created by the project itself (seed and capacity contributors, src/db/system-users.ts); never registered through the API. */
  isSystem: boolean('is_system').notNull().default(false),
  apiKeyHash: text('api_key_hash').unique(),
  createdAt: createdAt(),
});

export const traces = pgTable(
  'traces',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    title: text('title').notNull(),
    contextText: text('context_text').notNull(),
    solutionText: text('solution_text').notNull(),
    embedding: vector('embedding', { dimensions: EMBEDDING_DIMENSIONS }),
    embeddingModelId: text('embedding_model_id'),
    status: traceStatus('status').notNull().default('pending'),
    trustScore: doublePrecision('trust_score').notNull().default(0),
    confirmationCount: integer('confirmation_count').notNull().default(0),
    isSeed: boolean('is_seed').notNull().default(false),
    isFlagged: boolean('is_flagged').notNull().default(false),
    contributorId: uuid('contributor_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    agentModel: text('agent_model'),
    agentVersion: text('agent_version'),
    seedKey: text('seed_key'),
    /** Hash of the seed's content, so a re-import can tell "unchanged" from "updated". */
    contentHash: text('content_hash'),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('ux_traces_seed_key').on(t.seedKey).where(sql`${t.seedKey} IS NOT NULL`),
    index('ix_traces_contributor').on(t.contributorId),
    // The embedding backfill scans for pending rows; a partial index keeps that cheap at 100K+.
    index('ix_traces_embedding_pending').on(t.createdAt).where(sql`${t.embedding} IS NULL`),
    index(HNSW_INDEX_NAME)
      .using('hnsw', t.embedding.op('vector_cosine_ops'))
      .with({ m: HNSW_M, ef_construction: HNSW_EF_CONSTRUCTION }),
  ],
);

export const tags = pgTable('tags', {
  id: serial('id').primaryKey(),
  name: text('name').notNull().unique(),
});

export const traceTags = pgTable(
  'trace_tags',
  {
    traceId: uuid('trace_id')
      .notNull()
      .references(() => traces.id, { onDelete: 'cascade' }),
    tagId: integer('tag_id')
      .notNull()
      .references(() => tags.id, { onDelete: 'cascade' }),
  },
  (t) => [primaryKey({ columns: [t.traceId, t.tagId] }), index('ix_trace_tags_tag').on(t.tagId)],
);

/** Exactly-once ledger for capacity batches: a batch's rows and its ledger row commit together. */
export const capacityBatches = pgTable(
  'capacity_batches',
  {
    runKey: text('run_key').notNull(),
    batchIndex: integer('batch_index').notNull(),
    rows: integer('rows').notNull(),
    doneAt: timestamp('done_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.runKey, t.batchIndex] })],
);

/** Every benchmark run with its environment and figures; the nightly re-check compares against it. */
export const benchmarkRuns = pgTable(
  'benchmark_runs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    runKey: text('run_key').notNull(),
    workflowId: text('workflow_id'),
    traceCount: integer('trace_count').notNull(),
    dimensions: integer('dimensions').notNull(),
    efSearch: integer('ef_search'),
    p99Ms: doublePrecision('p99_ms'),
    recallAt10: doublePrecision('recall_at_10'),
    verdict: text('verdict'),
    figures: jsonb('figures').notNull(),
    createdAt: createdAt(),
    /** The run's name (its workflow id): `report <run>` and reports/<run>/ use it. */
    name: text('name'),
    environment: jsonb('environment'),
    httpP99Ms: doublePrecision('http_p99_ms'),
  },
  (t) => [index('ix_benchmark_runs_created').on(t.createdAt), uniqueIndex('ux_benchmark_runs_name').on(t.name)],
);

/**
 * Exact top-10 neighbours of a benchmark query set (by similarity and by re-rank score), cached per
 * dataset: computed once per (runKey, N, seeds) by src/benchmark/ground-truth.ts.
 */
export const benchmarkGroundTruth = pgTable('benchmark_ground_truth', {
  cacheKey: text('cache_key').primaryKey(),
  runKey: text('run_key').notNull(),
  traceCount: integer('trace_count').notNull(),
  generatorSeed: integer('generator_seed').notNull(),
  querySeed: integer('query_seed').notNull(),
  queryCount: integer('query_count').notNull(),
  /** Per query, the ids of its exact nearest neighbours, nearest first. */
  neighbours: jsonb('neighbours').notNull(),
  /** Per query, the ids of its exact top-k by the search path's re-rank score, best first (NULL in rows cached before it existed). */
  rerankedNeighbours: jsonb('reranked_neighbours'),
  exactP50Ms: doublePrecision('exact_p50_ms'),
  planNode: text('plan_node').notNull(),
  seconds: doublePrecision('seconds').notNull(),
  createdAt: createdAt(),
});

/**
 * One row per capacityRecheck: production's size (live rows) next to what the re-check measured at
 * its capacity dataset's size, which the capacity runway fits (src/benchmark/runway.ts) to project
 * when production's index outgrows shared_buffers, its build spills past maintenance_work_mem and
 * p99 reaches the SLO. Keyed by the recheck's workflow id, so a retried store is an update.
 */
export const capacityRunwaySamples = pgTable(
  'capacity_runway_samples',
  {
    workflowId: text('workflow_id').primaryKey(),
    benchmarkRunId: uuid('benchmark_run_id').notNull(),
    /** When the benchmark measured these figures. */
    measuredAt: timestamp('measured_at', { withTimezone: true }).notNull(),
    /** Traces with an embedding in the live database when the recheck stored this row: production's size, whose growth the runway fits. */
    liveRows: integer('live_rows').notNull(),
    /** Rows of the re-checked capacity dataset (the index's rows) the figures below were measured at. */
    capacityRows: integer('capacity_rows').notNull(),
    indexBytes: bigint('index_bytes', { mode: 'number' }).notNull(),
    sharedBuffersBytes: bigint('shared_buffers_bytes', { mode: 'number' }).notNull(),
    estimatedGraphBytes: bigint('estimated_graph_bytes', { mode: 'number' }).notNull(),
    /** The most maintenance_work_mem the index build may use (its cap). */
    maintenanceWorkMemBytes: bigint('maintenance_work_mem_bytes', { mode: 'number' }).notNull(),
    /** NULL when the index was already there (verified, not built). */
    buildSeconds: doublePrecision('build_seconds'),
    p99Ms: doublePrecision('p99_ms'),
    httpP99Ms: doublePrecision('http_p99_ms'),
    recallAt10: doublePrecision('recall_at_10'),
    createdAt: createdAt(),
  },
  (t) => [index('ix_capacity_runway_samples_measured').on(t.measuredAt)],
);
