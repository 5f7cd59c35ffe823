/** API-under-test helpers: a free port, an API with chosen limits, and traces it can find. */
import { createServer } from 'node:net';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Config } from '../../src/config.js';
import { withTransaction } from '../../src/db/client.js';
import { replaceTraceTags } from '../../src/db/trace-tags.js';
import { toVectorLiteral, traceEmbeddingText } from '../../src/embeddings/embedder.js';
import { LocalEmbedder } from '../../src/embeddings/local.js';
import { startApiServer, type RunningApi, type StartApiOptions } from '../../src/api/server.js';
import { baseConfig } from './config.js';
import { testPool } from './db.js';

/**
 * A port that nothing listens on, for a server the test starts next. It is drawn at random below
 * Linux's ephemeral range (32768-60999 by default): a port the kernel hands out for `listen(0)` is
 * released before the server binds it, and meanwhile any outgoing connection of the suite (a database
 * pool, a Temporal client) may take it as its source port, which made a dev server's bind fail.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await canListen(port)) return port;
  }
  throw new Error('no free port found in 20000-31999 after 50 tries');
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A config whose limiter enforces the given limits (and any other API settings). */
export function configWithLimits(rateLimit: Partial<Config['rateLimit']>, api: Partial<Config['api']> = {}, base: Config = baseConfig): Config {
  return { ...base, rateLimit: { ...base.rateLimit, ...rateLimit }, api: { ...base.api, ...api } };
}

/** An API on a free loopback port with the local embedder; pino output is off unless asked for. */
export function startTestApi(config: Config, options: Omit<StartApiOptions, 'host' | 'port'> = {}): Promise<RunningApi> {
  return startApiServer(config, { logger: false, ...options, deps: { embedder: new LocalEmbedder(), ...options.deps }, port: 0, host: '127.0.0.1' });
}

export interface TestTrace {
  title: string;
  context: string;
  solution: string;
  tags: string[];
}

/**
 * Inserts validated, embedded traces for one throwaway contributor; returns their ids and a cleanup
 * that deletes the contributor (its traces cascade) and the tags only these traces used.
 */
export async function insertSearchableTraces(email: string, traces: TestTrace[]): Promise<{ ids: string[]; cleanup: () => Promise<void> }> {
  const pool = testPool();
  const embedder = new LocalEmbedder();
  const { rows } = await pool.query<{ id: string }>('INSERT INTO users (email) VALUES ($1) RETURNING id', [email]);
  const contributor = rows[0]!.id;
  const vectors = await embedder.embed(traces.map((t) => traceEmbeddingText({ title: t.title, contextText: t.context, solutionText: t.solution, tags: t.tags })));
  const ids = await withTransaction(pool, async (client) => {
    const out: string[] = [];
    for (const [i, t] of traces.entries()) {
      const r = await client.query<{ id: string }>(
        `INSERT INTO traces (title, context_text, solution_text, status, trust_score, contributor_id, embedding, embedding_model_id)
         VALUES ($1, $2, $3, 'validated', 1.0, $4, $5::vector, $6) RETURNING id`,
        [t.title, t.context, t.solution, contributor, toVectorLiteral(vectors[i]!), embedder.modelId],
      );
      await replaceTraceTags(client, r.rows[0]!.id, t.tags);
      out.push(r.rows[0]!.id);
    }
    return out;
  });
  const tags = [...new Set(traces.flatMap((t) => t.tags))];
  return {
    ids,
    async cleanup() {
      await pool.query('DELETE FROM users WHERE id = $1', [contributor]);
      await pool.query('DELETE FROM tags tg WHERE tg.name = ANY($1::text[]) AND NOT EXISTS (SELECT 1 FROM trace_tags tt WHERE tt.tag_id = tg.id)', [tags]);
    },
  };
}

/** Deletes users (and, by cascade, their traces) whose e-mail starts with `prefix`. */
export async function deleteUsersWithPrefix(prefix: string): Promise<number> {
  const { rowCount } = await testPool().query('DELETE FROM users WHERE starts_with(email, $1)', [prefix]);
  return rowCount ?? 0;
}

/** What a faulty proxy does with one request: forward it, answer it with this status, or drop the connection. */
export type ProxyFault = 'forward' | 'drop' | number;

export interface FaultyProxy {
  url: string;
  /** Forwarded responses, counted by "METHOD path status" (e.g. "POST /api/v1/auth/register 201"). */
  forwarded: Map<string, number>;
  close(): Promise<void>;
}

const FORWARDED_HEADERS = ['content-type', 'retry-after', 'ratelimit', 'ratelimit-policy', 'server-timing', 'www-authenticate'];

/**
 * An HTTP proxy in front of `target` that forwards every request `fault` lets through, so an API can
 * be made to fail in one place (e.g. searches) while registration and deletion still reach it.
 */
export async function startFaultyProxy(target: string, fault: (method: string, path: string) => ProxyFault): Promise<FaultyProxy> {
  const forwarded = new Map<string, number>();
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const decision = fault(method, path);
    if (decision === 'drop') return void req.socket.destroy();
    if (typeof decision === 'number') return void res.writeHead(decision, { 'content-type': 'application/json' }).end('{"error":"injected"}');
    const headers: Record<string, string> = {};
    for (const name of ['authorization', 'content-type']) if (req.headers[name]) headers[name] = String(req.headers[name]);
    const upstream = await fetch(target + path, { method, headers, ...(chunks.length > 0 && { body: Buffer.concat(chunks) }) });
    const key = `${method} ${path} ${upstream.status}`;
    forwarded.set(key, (forwarded.get(key) ?? 0) + 1);
    for (const name of FORWARDED_HEADERS) {
      const value = upstream.headers.get(name);
      if (value !== null) res.setHeader(name, value);
    }
    res.writeHead(upstream.status).end(Buffer.from(await upstream.arrayBuffer()));
  };
  const server = createHttpServer((req, res) => void handle(req, res).catch(() => req.socket.destroy()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    forwarded,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
