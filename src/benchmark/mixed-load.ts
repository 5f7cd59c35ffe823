/**
 * The mixed phase, search while writing (issue 16 item 2): the HTTP search load of the read-only
 * phase (same users, same rate, http-load.ts), and at the same time
 * - contributions through the write endpoint (POST /api/v1/traces) by writer users of their own,
 *   paced within the per-user write quota (mixed-plan.ts);
 * - the embedding backfill as production runs it: the API stores a contribution `pending` with no
 *   vector (it does not embed on write), and the backfill's batch (embedNextBatch, the function
 *   behind the embedPendingBatch activity) claims and embeds pending rows, here in a loop that
 *   waits `idleMs` whenever nothing is pending;
 * - for each contribution, the time from its write's 2xx to the first search that finds it. The
 *   database is checked (cheap, by id) for the row's vector of the active model; once it is there,
 *   the writer searches the API with the contribution's own embedding text (its vector is then the
 *   query's: similarity 1) and the contribution counts as searchable at the moment a response lists
 *   it. A search that misses it (the HNSW scan did not reach it) is repeated at the next poll.
 *
 * The writers are benchmark users like the load's (LOAD_TEST_EMAIL_DOMAIN), registered through the
 * API under test and deleted through it when the phase ends, however it ends; their contributions go
 * with them (ON DELETE CASCADE), and the phase then counts what is left of them by id.
 */
import type pg from 'pg';
import pLimit from 'p-limit';
import { ApiClient, type RegisteredUser } from '../api/api-client.js';
import { embedNextBatch } from '../embeddings/backfill.js';
import { traceEmbeddingText, type Embedder } from '../embeddings/embedder.js';
import { epochMs } from './harness/windows.js';
import { HttpTargetError, LOAD_TEST_EMAIL_DOMAIN, runHttpLoad, type HttpLoadOptions, type HttpLoadResult } from './http-load.js';
import { contributionText, planWrites, summarizeDelays, writeSchedule, type DelaySummary, type WritePlan } from './mixed-plan.js';
import { createLatencyHistogram, recordMs, summarizeLatency, type LatencySummary } from './stats.js';

export interface MixedLoadOptions {
  /** The search load, as the read-only HTTP phase ran it. */
  search: Omit<HttpLoadOptions, 'onLoadStart'>;
  writesPerMinute: number;
  maxPerWriterPerMinute: number;
  /** After the last write, how long contributions may still take to become searchable. */
  graceSeconds: number;
  pollMs: number;
  backfill: { batchSize: number; idleMs: number };
  /** The database the API under load writes to: contributions are embedded and looked for here. */
  pool: pg.Pool;
  embedder: Embedder;
  /** Called with the accepted contributions' ids after the phase, before the writers are deleted. */
  beforeCleanup?: (contributionIds: string[]) => Promise<void>;
}

export interface MixedWrites extends WritePlan {
  writesPerMinute: number;
  planned: number;
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  statusCodes: Record<string, number>;
  /** Of 2xx writes, from scheduled send to response. */
  latency: LatencySummary;
  /** The API's announced write quota (RateLimit-Policy of the first write). */
  rateLimitPolicy: string | null;
  /** p99 of actual minus scheduled send time (the writes run on this process's event loop). */
  scheduleLagP99Ms: number;
}

export interface MixedLoadResult {
  read: HttpLoadResult;
  writes: MixedWrites;
  delay: DelaySummary & {
    pollMs: number;
    graceSeconds: number;
    /** Contributions whose vector was stored but that no search found within the phase and grace. */
    embeddedNotFound: number;
    /** Searches the writers sent to find their contributions (not in the read figures). */
    probes: number;
    /** Polls of the database that failed (retried at the next poll). */
    checkErrors: number;
  };
  backfill: { batchSize: number; idleMs: number; batches: number; embedded: number; errors: number; lastError: string | null };
  cleanup: { writersDeleted: number; contributionsLeft: number };
}

type Writer = RegisteredUser & { email: string };

interface Contribution {
  id: string;
  writer: Writer;
  query: string;
  writtenAt: number;
  embeddedAt: number | null;
  searchableAt: number | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The backfill loop: batches while rows are pending, a wait of `idleMs` when none are; stop() ends it. */
function startBackfill(pool: pg.Pool, embedder: Embedder, batchSize: number, idleMs: number) {
  const stats = { batchSize, idleMs, batches: 0, embedded: 0, errors: 0, lastError: null as string | null };
  let stopping = false;
  let wake = () => {};
  const loop = (async () => {
    while (!stopping) {
      try {
        const n = await embedNextBatch(pool, embedder, 'all', batchSize);
        if (n > 0) {
          stats.batches++;
          stats.embedded += n;
          continue;
        }
      } catch (err) {
        // As the activity's retry policy would: note it, wait, try again.
        stats.errors++;
        stats.lastError = (err as Error).message;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, idleMs);
        wake = () => (clearTimeout(timer), resolve());
      });
    }
  })();
  return {
    stop: async () => {
      stopping = true;
      wake();
      await loop;
      return stats;
    },
  };
}

/** Finds when each contribution is embedded (by id) and then found by its writer's search. */
class SearchabilityTracker {
  readonly contributions: Contribution[] = [];
  probes = 0;
  /** Polls that failed (the database did not answer); the next poll tries again. */
  checkErrors = 0;
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(private readonly pool: pg.Pool, private readonly api: ApiClient, private readonly modelId: string, private readonly pollMs: number, private readonly limit: number) {
    this.loop = this.run();
  }

  get outstanding(): Contribution[] {
    return this.contributions.filter((c) => c.searchableAt === null);
  }

  /** Polls until every contribution is searchable or `deadline` (epoch ms) has passed, then stops; `onWait` at every poll. */
  async settle(deadline: () => number, onWait: () => void = () => {}): Promise<void> {
    while (this.outstanding.length > 0 && epochMs() < deadline()) {
      onWait();
      await sleep(this.pollMs);
    }
    this.stopped = true;
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      // Never rejects: nobody awaits this loop until settle(), so a rejection would go unhandled.
      await this.tick().catch(() => void this.checkErrors++);
      await sleep(this.pollMs);
    }
  }

  private async tick(): Promise<void> {
    const waiting = this.outstanding;
    if (waiting.length === 0) return;
    const unembedded = waiting.filter((c) => c.embeddedAt === null);
    if (unembedded.length > 0) {
      const { rows } = await this.pool.query<{ id: string }>(
        'SELECT id FROM traces WHERE id = ANY($1::uuid[]) AND embedding IS NOT NULL AND embedding_model_id = $2',
        [unembedded.map((c) => c.id), this.modelId],
      );
      const now = epochMs();
      const embedded = new Set(rows.map((r) => r.id));
      for (const c of unembedded) if (embedded.has(c.id)) c.embeddedAt = now;
    }
    for (const c of waiting.filter((w) => w.embeddedAt !== null)) {
      this.probes++;
      const res = await this.api.search(c.writer.apiKey, c.query, { limit: this.limit });
      const results = (res.body as { results?: { id: string }[] } | undefined)?.results ?? [];
      if (res.status === 200 && results.some((r) => r.id === c.id)) c.searchableAt = epochMs();
    }
  }
}

async function registerWriters(api: ApiClient, tag: string, count: number, writers: Writer[], onRegistered?: HttpLoadOptions['onUserRegistered']): Promise<void> {
  const failures = await pLimit(4).map(Array.from({ length: count }, (_, i) => i), async (i) => {
    const email = `bench-${tag}-w${i}@${LOAD_TEST_EMAIL_DOMAIN}`;
    try {
      writers[i] = { ...(await api.register(email)), email };
      onRegistered?.({ userId: writers[i].userId, email });
      return null;
    } catch (err) {
      return `registering writer ${i} failed: ${(err as Error).message}`;
    }
  });
  const failure = failures.find((f) => f !== null);
  if (failure) throw new HttpTargetError(failure);
}

/** Sends every scheduled write from `startedAt` (epoch ms) and hands each accepted one to the tracker. */
async function runWriters(api: ApiClient, writers: readonly Writer[], plan: WritePlan, seconds: number, tag: string, startedAt: number, tracker: SearchabilityTracker, signal?: AbortSignal) {
  const latency = createLatencyHistogram();
  const lag = createLatencyHistogram();
  const statusCodes: Record<string, number> = {};
  const counts = { requests: 0, ok: 0, non2xx: 0, errors: 0 };
  let rateLimitPolicy: string | null = null;
  const slots = writeSchedule(plan, seconds);
  await Promise.all(
    slots.map(async (slot) => {
      const scheduled = startedAt + slot.atMs;
      const wait = scheduled - epochMs();
      if (wait > 0) await sleep(wait);
      if (signal?.aborted) return;
      recordMs(lag, Math.max(0, epochMs() - scheduled));
      const writer = writers[slot.writer]!;
      const text = contributionText(tag, slot.writer, slot.seq);
      counts.requests++;
      const res = await api.contribute(writer.apiKey, text);
      const now = epochMs();
      if (res.status === 0) return void counts.errors++;
      statusCodes[res.status] = (statusCodes[res.status] ?? 0) + 1;
      rateLimitPolicy ??= res.rateLimitPolicy;
      const id = (res.body as { id?: string } | undefined)?.id;
      if (res.status < 200 || res.status >= 300 || !id) return void counts.non2xx++;
      counts.ok++;
      recordMs(latency, now - scheduled);
      tracker.contributions.push({
        id, writer, writtenAt: now, embeddedAt: null, searchableAt: null,
        query: traceEmbeddingText({ title: text.title, contextText: text.context, solutionText: text.solution }),
      });
    }),
  );
  return { planned: slots.length, ...counts, statusCodes, latency: summarizeLatency(latency), rateLimitPolicy, scheduleLagP99Ms: summarizeLatency(lag).p99 };
}

/** Refuses an API whose writes would not land in `pool`'s database (the registered writers are not there). */
async function assertWritesLand(pool: pg.Pool, writers: readonly Writer[], baseUrl: string): Promise<void> {
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM users WHERE id = ANY($1::uuid[])', [writers.map((w) => w.userId)]);
  if (rows[0]!.n !== writers.length) {
    throw new HttpTargetError(
      `the API at ${baseUrl} does not write to the database the mixed phase embeds and checks (its writers are not there): ` +
        'run the mixed phase against the API over the capacity database (leave the HTTP base URL unset, or point it at such an API)',
    );
  }
}

/** Deletes the writers through the API (their contributions cascade) and counts what is left of the contributions. */
async function removeWriters(api: ApiClient, pool: pg.Pool, writers: readonly Writer[], ids: readonly string[]): Promise<MixedLoadResult['cleanup']> {
  const deleted = await pLimit(4).map(writers, (w) => api.deleteSelf(w.apiKey).then(() => 1, () => 0));
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM traces WHERE id = ANY($1::uuid[])', [ids]);
  return { writersDeleted: deleted.reduce((a: number, b) => a + b, 0), contributionsLeft: rows[0]!.n };
}

export async function runMixedLoad(options: MixedLoadOptions): Promise<MixedLoadResult> {
  const plan = planWrites(options.writesPerMinute, options.maxPerWriterPerMinute);
  const { search } = options;
  const api = new ApiClient(search.baseUrl, (search.timeoutSeconds ?? 10) * 1000);
  const tag = search.runTag.toLowerCase().replace(/[^a-z0-9-]+/g, '-').slice(-40);
  const writers: Writer[] = [];
  let tracker: SearchabilityTracker | undefined;
  let outcome: Omit<MixedLoadResult, 'cleanup'>;
  let cleanup: MixedLoadResult['cleanup'];
  try {
    await registerWriters(api, tag, plan.writers, writers, search.onUserRegistered);
    await assertWritesLand(options.pool, writers, search.baseUrl);
    const backfill = startBackfill(options.pool, options.embedder, options.backfill.batchSize, options.backfill.idleMs);
    const t = (tracker = new SearchabilityTracker(options.pool, api, options.embedder.modelId, options.pollMs, search.limit));
    let writing: ReturnType<typeof runWriters> | undefined;
    try {
      const read = await runHttpLoad({
        ...search,
        onLoadStart: (startedAt) => {
          writing = runWriters(api, writers, plan, search.seconds, tag, startedAt, t, search.signal);
          // Awaited once the load ends; marked handled so an early failure is not an unhandled rejection meanwhile.
          writing.catch(() => undefined);
        },
      });
      if (!writing) throw new HttpTargetError('the search load ended without starting its writers');
      const writes = await (writing as ReturnType<typeof runWriters>);
      const lastWrite = () => Math.max(0, ...t.contributions.map((c) => c.writtenAt));
      // The load's progress reports go on through the grace period (the activity heartbeats on them).
      await t.settle(() => lastWrite() + options.graceSeconds * 1000, () => search.onProgress?.(read.ok + read.non2xx));
      const delays = t.contributions.map((c) => (c.searchableAt === null ? null : c.searchableAt - c.writtenAt));
      outcome = {
        read,
        writes: { ...plan, writesPerMinute: options.writesPerMinute, ...writes },
        delay: {
          ...summarizeDelays(delays),
          pollMs: options.pollMs,
          graceSeconds: options.graceSeconds,
          embeddedNotFound: t.contributions.filter((c) => c.embeddedAt !== null && c.searchableAt === null).length,
          probes: t.probes,
          checkErrors: t.checkErrors,
        },
        backfill: await backfill.stop(),
      };
    } finally {
      // After a failed load, writes still in flight finish first, so every accepted id is known.
      await (writing as Promise<unknown> | undefined)?.catch(() => undefined);
      await t.settle(() => 0);
      await backfill.stop();
    }
    await options.beforeCleanup?.(t.contributions.map((c) => c.id));
  } finally {
    cleanup = await removeWriters(api, options.pool, writers.filter(Boolean), tracker?.contributions.map((c) => c.id) ?? []);
  }
  const undeleted = writers.filter(Boolean).length - cleanup.writersDeleted;
  if (undeleted > 0 || cleanup.contributionsLeft > 0) {
    throw new HttpTargetError(
      `the mixed phase ran, but ${undeleted} writers could not be deleted through ${search.baseUrl} and ${cleanup.contributionsLeft} of its contributions are left; ` +
        `delete the users with e-mails bench-${tag}-w…@${LOAD_TEST_EMAIL_DOMAIN} in that deployment`,
    );
  }
  return { ...outcome, cleanup };
}
