/**
 * The one place that reads process.env. Every setting is validated here, so a bad value fails at
 * start with a single message listing every problem, instead of surfacing later as a confusing
 * connection error deep inside an activity.
 */
import { z } from 'zod';
import { INDEX_TYPES, type IndexType } from './db/index-types.js';

export const LOCAL_DATABASE_URL = 'postgresql://postgres@127.0.0.1:55432/commontrace';
export const DEFAULT_TASK_QUEUE = 'launch-readiness';

const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const positiveInt = z.coerce
  .number({ message: 'expected a positive integer' })
  .int({ message: 'expected a positive integer' })
  .positive({ message: 'expected a positive integer' });

/**
 * An integer within [min, max], with the range in the message. Blank counts as unset (coercing it
 * would read 0, which for these settings means something: a TTL of 0 turns the cache off).
 */
const intInRange = (min: number, max: number, fallback: number) => {
  const message = `expected an integer from ${min} to ${max}`;
  return z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z.coerce.number({ message }).int({ message }).min(min, { message }).max(max, { message }).default(fallback),
  );
};

/**
 * Ceiling of every RATE_LIMIT_*_PER_MINUTE. The Lua token bucket (src/ratelimit/token-bucket.lua)
 * counts in integer units of capacity × 60,000,000 (the window in microseconds) held in Lua doubles,
 * which stay exact only below 2^53: capacities above about 150 million lose precision, and
 * TokenBucket refuses anything above its MAX_CAPACITY (100 million), which the API would treat as a
 * limiter failure on every request (fail open, or 503 when closed). One million per minute (about
 * 16,700 per second per key) is far above any real client and 150× below the precision limit.
 */
export const MAX_RATE_LIMIT_PER_MINUTE = 1_000_000;
/** Ceiling of API_BODY_LIMIT_BYTES: the largest contribution is far smaller; 10 MiB bounds what one request can make the API buffer. */
export const MAX_BODY_LIMIT_BYTES = 10 * 1024 * 1024;

const portNumber = z.coerce
  .number({ message: 'expected a TCP port (1-65535)' })
  .int({ message: 'expected a TCP port (1-65535)' })
  .min(1, { message: 'expected a TCP port (1-65535)' })
  .max(65535, { message: 'expected a TCP port (1-65535)' });

/** `name` or `name@system_identifier`, comma-separated. */
const PRODUCTION_DATABASES_PATTERN = /^\s*[^\s,@]+(@\d+)?\s*(,\s*[^\s,@]+(@\d+)?\s*)*$/;

const urlWithProtocols = (protocols: string[], example: string) =>
  z
    .string()
    .refine((value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    }, { message: `expected a URL like ${example}` });

/** Empty strings count as unset: `FOO= npm run x` should mean "use the default". */
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));

/** pino's level names, most verbose first; `silent` logs nothing. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];
export type LogFormat = 'json' | 'pretty';

/** Where diagnostics go is fixed (stderr); how much of them, and in which form, is configurable. */
export interface LogSettings {
  level: LogLevelName;
  /** JSON lines, or pino-pretty's human form. Default: pretty when stderr is a terminal, else JSON. */
  format: LogFormat;
}

/** Level and format names are case-insensitive; blank counts as unset. */
const lowerCaseOrUnset = (v: unknown) => (typeof v === 'string' ? (v.trim() === '' ? undefined : v.trim().toLowerCase()) : v);

const logSchema = z.object({
  LOG_LEVEL: z.preprocess(lowerCaseOrUnset, z.enum(LOG_LEVELS, { message: `expected one of ${LOG_LEVELS.join(', ')}` }).default('info')),
  LOG_FORMAT: z.preprocess(lowerCaseOrUnset, z.enum(['json', 'pretty'], { message: 'expected json or pretty' }).optional()),
});

const envSchema = z.object({
  ...logSchema.shape,
  APP_ENV: z
    .enum(['development', 'staging', 'production'], { message: 'expected development, staging or production' })
    .default('development'),
  DATABASE_URL: urlWithProtocols(['postgres:', 'postgresql:'], LOCAL_DATABASE_URL).default(LOCAL_DATABASE_URL),
  CAPACITY_DATABASE_URL: optionalString.pipe(z.union([z.undefined(), urlWithProtocols(['postgres:', 'postgresql:'], `${LOCAL_DATABASE_URL}_capacity`)])),
  PRODUCTION_DATABASES: optionalString.pipe(
    z.union([
      z.undefined(),
      z.string().regex(PRODUCTION_DATABASES_PATTERN, { message: 'expected comma-separated database names, each optionally name@system_identifier (e.g. commontrace@7301234567890123456)' }),
    ]),
  ),
  REDIS_URL: urlWithProtocols(['redis:', 'rediss:'], 'redis://127.0.0.1:6379').default('redis://127.0.0.1:6379'),

  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^\s:/]+:\d{1,5}$/, { message: 'expected host:port, e.g. 127.0.0.1:7233' })
    .default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1, { message: 'expected a namespace name' }).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1, { message: 'expected a task queue name' }).default(DEFAULT_TASK_QUEUE),
  TEMPORAL_API_KEY: optionalString,
  TEMPORAL_TLS: booleanFlag.optional(),
  TEMPORAL_TLS_CERT_PATH: optionalString,
  TEMPORAL_TLS_KEY_PATH: optionalString,
  TEMPORAL_UI_URL: urlWithProtocols(['http:', 'https:'], 'http://127.0.0.1:8233').default('http://127.0.0.1:8233'),
  TEMPORAL_WORKFLOW_BUNDLE: optionalString,

  EMBEDDING_PROVIDER: z.enum(['local', 'openai'], { message: 'expected local or openai' }).optional(),
  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: optionalString.pipe(
    z.union([z.undefined(), urlWithProtocols(['http:', 'https:'], 'https://api.openai.com/v1')]),
  ),

  RATE_LIMIT_READ_PER_MINUTE: intInRange(1, MAX_RATE_LIMIT_PER_MINUTE, 60),
  RATE_LIMIT_WRITE_PER_MINUTE: intInRange(1, MAX_RATE_LIMIT_PER_MINUTE, 20),
  RATE_LIMIT_REGISTER_PER_MINUTE: intInRange(1, MAX_RATE_LIMIT_PER_MINUTE, 60),
  RATE_LIMIT_FAIL_MODE: z.enum(['open', 'closed'], { message: 'expected open or closed' }).default('open'),

  API_HOST: z.string().min(1).default('127.0.0.1'),
  API_PORT: portNumber.default(8787),
  API_BODY_LIMIT_BYTES: intInRange(1, MAX_BODY_LIMIT_BYTES, 65_536),
  API_TRUST_PROXY: booleanFlag.optional(),
  API_KEY_CACHE_TTL_MS: intInRange(0, 300_000, 10_000),
  API_KEY_CACHE_MAX: intInRange(1, 1_000_000, 10_000),
  API_DB_POOL_SIZE: intInRange(1, 200, 10),

  PREFLIGHT_TARGET_TRACES: positiveInt.default(100_000),

  SEARCH_INDEX_TYPE: z.preprocess(
    lowerCaseOrUnset,
    z.enum(['auto', ...INDEX_TYPES], { message: `expected auto, ${INDEX_TYPES.join(' or ')}` }).default('auto'),
  ),
});

/** Every environment variable the service reads; deployment files are checked against this list. */
export const CONFIG_ENV_NAMES: readonly string[] = Object.keys(envSchema.shape);

export type AppEnv = 'development' | 'staging' | 'production';

/** A database that capacity jobs must never write to without an explicit override. */
export interface ProductionDatabase {
  name: string;
  /** pg_control_system().system_identifier; absent: the name alone identifies it. */
  systemIdentifier?: string;
}

export interface Config {
  appEnv: AppEnv;
  /** The live database: traces that agents search. */
  databaseUrl: string;
  /**
   * Where capacity population, index builds, benchmarks and cleanup run: a database of its own
   * (default: DATABASE_URL's name + `_capacity`, on the same server), so synthetic rows and index
   * drops never touch the live table.
   */
  capacityDatabaseUrl: string;
  /** Databases identified as production (PRODUCTION_DATABASES): capacity jobs refuse them without an override. */
  productionDatabases: ProductionDatabase[];
  redisUrl: string;
  temporal: {
    address: string;
    namespace: string;
    taskQueue: string;
    apiKey?: string;
    tls: boolean;
    tlsCertPath?: string;
    tlsKeyPath?: string;
    uiUrl: string;
    /**
     * A workflow bundle built ahead by `npm run build:workflows` (TEMPORAL_WORKFLOW_BUNDLE): the
     * worker loads it instead of bundling src/workflows when it starts (seconds of CPU each time).
     * It must be built from the same source as the activities the worker runs.
     */
    workflowBundlePath?: string;
  };
  embedding: {
    provider: 'local' | 'openai';
    openaiApiKey?: string;
    openaiBaseUrl?: string;
  };
  rateLimit: {
    readPerMinute: number;
    writePerMinute: number;
    /** POST /api/v1/auth/register per client address (request.ip; see api.trustProxy). */
    registerPerMinute: number;
    failMode: 'open' | 'closed';
  };
  /**
   * bodyLimitBytes: requests with a larger body get 413 before they are parsed.
   * keyCacheTtlMs / keyCacheMax: how long (0 = not cached) and how many API-key lookups each API
   * process keeps; a revoked key keeps working for up to keyCacheTtlMs in each process.
   * trustProxy: take the client address from X-Forwarded-For (Fastify trustProxy). Only behind a
   * proxy that sets that header itself; otherwise every client could pick its own address.
   */
  api: {
    host: string; port: number; bodyLimitBytes: number; keyCacheTtlMs: number; keyCacheMax: number; trustProxy: boolean;
    /** Database connections the API opens, warms (one search each) before listening, and keeps open. */
    dbPoolSize: number;
  };
  preflight: { targetTraces: number };
  /**
   * indexType: the HNSW index the search statement is written for (SEARCH_INDEX_TYPE); null (auto)
   * reads it from the database's valid HNSW indexes on traces (src/search/index-type.ts).
   */
  search: { indexType: IndexType | null };
  log: LogSettings;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n') +
        '\nFix the environment variables above (see README "Configuration") and start again.',
    );
    this.name = 'ConfigError';
  }
}

/** Whether this process's stderr is a terminal: the default log format follows it. */
export function stderrIsTTY(): boolean {
  return Boolean(process.stderr.isTTY);
}

function parseEnv<T extends z.ZodType>(schema: T, env: Record<string, string | undefined>): z.output<T> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment');
      const got = env[name];
      return `${name}: ${issue.message}${got === undefined ? '' : ` (got ${JSON.stringify(got)})`}`;
    });
    throw new ConfigError(problems);
  }
  return parsed.data;
}

function logSettings(e: z.output<typeof logSchema>, tty: boolean): LogSettings {
  return { level: e.LOG_LEVEL, format: e.LOG_FORMAT ?? (tty ? 'pretty' : 'json') };
}

/**
 * LOG_LEVEL and LOG_FORMAT alone, for the root logger (src/logger.ts), which exists before any
 * command has called loadConfig. loadConfig checks them too, so a bad value still stops the process.
 */
export function loadLogSettings(env: Record<string, string | undefined> = process.env, tty = stderrIsTTY()): LogSettings {
  return logSettings(parseEnv(logSchema, env), tty);
}

/** `tty`: whether stderr is a terminal (the default LOG_FORMAT is pretty there, JSON elsewhere). */
export function loadConfig(env: Record<string, string | undefined> = process.env, tty = stderrIsTTY()): Config {
  const e = parseEnv(envSchema, env);
  const problems: string[] = [];

  const provider = e.EMBEDDING_PROVIDER ?? (e.OPENAI_API_KEY ? 'openai' : 'local');
  if (provider === 'openai' && !e.OPENAI_API_KEY) {
    problems.push('OPENAI_API_KEY: required when EMBEDDING_PROVIDER=openai (or set EMBEDDING_PROVIDER=local for the offline embedder)');
  }
  if (Boolean(e.TEMPORAL_TLS_CERT_PATH) !== Boolean(e.TEMPORAL_TLS_KEY_PATH)) {
    problems.push('TEMPORAL_TLS_CERT_PATH / TEMPORAL_TLS_KEY_PATH: set both for mTLS, or neither');
  }
  const capacityDatabaseUrl = e.CAPACITY_DATABASE_URL ?? defaultCapacityDatabaseUrl(e.DATABASE_URL);
  if (sameDatabase(capacityDatabaseUrl, e.DATABASE_URL)) {
    problems.push(
      `CAPACITY_DATABASE_URL: names the live database (${redactUrl(e.DATABASE_URL)}); capacity runs load synthetic rows and drop the ` +
        'HNSW index there, so give them a database of their own (unset it for the default <database>_capacity)',
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    appEnv: e.APP_ENV,
    databaseUrl: e.DATABASE_URL,
    capacityDatabaseUrl,
    productionDatabases: parseProductionDatabases(e.PRODUCTION_DATABASES),
    redisUrl: e.REDIS_URL,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      apiKey: e.TEMPORAL_API_KEY,
      // An API key or client certificate implies TLS (Temporal Cloud refuses plaintext).
      tls: e.TEMPORAL_TLS ?? Boolean(e.TEMPORAL_API_KEY || e.TEMPORAL_TLS_CERT_PATH),
      tlsCertPath: e.TEMPORAL_TLS_CERT_PATH,
      tlsKeyPath: e.TEMPORAL_TLS_KEY_PATH,
      uiUrl: e.TEMPORAL_UI_URL.replace(/\/$/, ''),
      workflowBundlePath: e.TEMPORAL_WORKFLOW_BUNDLE,
    },
    embedding: { provider, openaiApiKey: e.OPENAI_API_KEY, openaiBaseUrl: e.OPENAI_BASE_URL },
    rateLimit: {
      readPerMinute: e.RATE_LIMIT_READ_PER_MINUTE,
      writePerMinute: e.RATE_LIMIT_WRITE_PER_MINUTE,
      registerPerMinute: e.RATE_LIMIT_REGISTER_PER_MINUTE,
      failMode: e.RATE_LIMIT_FAIL_MODE,
    },
    api: {
      host: e.API_HOST,
      port: e.API_PORT,
      bodyLimitBytes: e.API_BODY_LIMIT_BYTES,
      keyCacheTtlMs: e.API_KEY_CACHE_TTL_MS,
      keyCacheMax: e.API_KEY_CACHE_MAX,
      trustProxy: e.API_TRUST_PROXY ?? false,
      dbPoolSize: e.API_DB_POOL_SIZE,
    },
    preflight: { targetTraces: e.PREFLIGHT_TARGET_TRACES },
    search: { indexType: e.SEARCH_INDEX_TYPE === 'auto' ? null : e.SEARCH_INDEX_TYPE },
    log: logSettings(e, tty),
  };
}

/** DATABASE_URL with `_capacity` appended to the database name: the same server, a database of its own. */
export function defaultCapacityDatabaseUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${decodeURIComponent(url.pathname.replace(/^\//, '')) || 'postgres'}_capacity`;
  return url.toString();
}

/** Host, port and database name equal (user and options aside): the same database. */
export function sameDatabase(a: string, b: string): boolean {
  const key = (u: string) => {
    const url = new URL(u);
    return `${url.hostname.toLowerCase()}:${url.port || '5432'}/${decodeURIComponent(url.pathname.replace(/^\//, ''))}`;
  };
  return key(a) === key(b);
}

function parseProductionDatabases(value: string | undefined): ProductionDatabase[] {
  if (!value) return [];
  return value.split(',').map((entry) => {
    const [name, systemIdentifier] = entry.trim().split('@') as [string, string | undefined];
    return { name, ...(systemIdentifier && { systemIdentifier }) };
  });
}

/** A password-free form of a connection URL, safe to print in logs and reports. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable url>';
  }
}

/** The environment for a child process of this one (the API in a child process): this process's, with `overrides` on top. */
export function childEnvironment(overrides: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, ...overrides };
}
