/**
 * The measured HTTP load loops, run as a harness job in a child process (http-load.ts prepares the
 * users and merges the children's tallies). Each child drives its share of the users:
 * - closed loop: autocannon, one keep-alive connection per user, requests back to back. Autocannon
 *   already parses every response's headers and hands them to a request's onResponse, just before
 *   the same connection reports that response's latency, so Server-Timing costs one header lookup;
 * - open loop: each user sends on a fixed schedule, users staggered evenly across the interval (by
 *   their index among all users, whichever child runs them), latency measured from the scheduled
 *   send time (no coordinated omission), and the harness's lateness against the schedule recorded.
 */
import type autocannonModule from 'autocannon';
import { lazyModule } from '../../lazy-module.js';
import { ApiClient } from '../../api/api-client.js';
import { defineJob, type JobContext } from './job.js';
import { HttpTally, type HttpTallySnapshot } from './http-tally.js';
import { WindowRecorder } from './windows.js';

const autocannon = lazyModule<typeof autocannonModule>('autocannon');

export const SEARCH_PATH = '/api/v1/traces/search';

export interface HttpLoopInput {
  baseUrl: string;
  /** This child's users: index among all users and API key. */
  users: { index: number; key: string }[];
  totalUsers: number;
  seconds: number;
  queries: string[];
  limit: number;
  /** Requests per second per user (open loop); null = closed loop. */
  ratePerUser: number | null;
  timeoutSeconds: number;
  /**
   * An unmeasured open loop run in `prepare`, by other users than the measured ones (whose quota it
   * must not spend), at the measured per-user rate: it warms what the first measured seconds would
   * otherwise pay for (the API's JIT and connections, this child's own code paths).
   */
  warmup: { users: { index: number; key: string }[]; seconds: number; ratePerUser: number } | null;
}

/** What the warm-up sent, reported beside the measured figures, never merged into them. */
export interface WarmupTally {
  requests: number;
  ok: number;
}

export interface HttpLoopOutput {
  tally: HttpTallySnapshot;
  warmup: WarmupTally | null;
}

type HeaderValue = string | string[] | undefined;

function headerOf(headers: Record<string, HeaderValue>, lowerName: string): HeaderValue {
  for (const name in headers) if (name.toLowerCase() === lowerName) return headers[name];
  return undefined;
}

function closedLoop(input: HttpLoopInput, tally: HttpTally, ctx: JobContext<number>): Promise<void> {
  const url = input.baseUrl.replace(/\/+$/, '') + SEARCH_PATH;
  const path = new URL(url).pathname;
  const bodies = input.queries.map((q) => JSON.stringify({ q, limit: input.limit }));
  let nextBody = input.users[0]?.index ?? 0;
  let nextUser = 0;
  return new Promise((resolve, reject) => {
    autocannon()(
      {
        url,
        connections: input.users.length,
        duration: input.seconds,
        timeout: input.timeoutSeconds,
        excludeErrorStats: true,
        // One user per connection, with its own key on every request it sends.
        setupClient: (client) => {
          const key = input.users[nextUser++ % input.users.length]!.key;
          let serverTiming: HeaderValue;
          client.setRequests([
            {
              method: 'POST',
              path,
              headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
              setupRequest: (req) => ({ ...req, body: bodies[nextBody++ % bodies.length] }),
              onResponse: (_status, _body, _context, headers) => void (serverTiming = headerOf(headers as Record<string, HeaderValue>, 'server-timing')),
            },
          ]);
          client.on('response', (status: number, _bytes: number, ms: number) => {
            tally.response(status, ms, serverTiming);
            serverTiming = undefined;
            ctx.progress(tally.responses);
          });
          // The events autocannon counts as errors (its client emits them; its types do not list
          // them), as they happen, so they land in their time windows; the totals are then taken
          // from autocannon's own result.
          const events = client as unknown as NodeJS.EventEmitter;
          events.on('connError', () => tally.transportError(false));
          events.on('timeout', () => tally.transportError(true));
        },
      },
      (err: unknown, res: autocannonModule.Result) => {
        if (err) return reject(err instanceof Error ? err : new Error(String(err)));
        tally.errors = res.errors;
        tally.timeouts = res.timeouts;
        resolve();
      },
    );
  });
}

type OpenLoopInput = Pick<HttpLoopInput, 'baseUrl' | 'users' | 'totalUsers' | 'seconds' | 'queries' | 'limit' | 'timeoutSeconds'>;

async function openLoop(input: OpenLoopInput, rate: number, tally: HttpTally, onResponse: (responses: number) => void): Promise<void> {
  const api = new ApiClient(input.baseUrl, input.timeoutSeconds * 1000);
  const interval = 1000 / rate;
  const started = performance.now();
  const end = started + input.seconds * 1000;
  const inFlight = new Set<Promise<void>>();
  let nextQuery = input.users[0]?.index ?? 0;
  const user = async ({ index, key }: { index: number; key: string }) => {
    for (let k = 0; ; k++) {
      const scheduled = started + (k + index / input.totalUsers) * interval;
      if (scheduled >= end) return;
      const wait = scheduled - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      tally.lag(performance.now() - scheduled);
      const q = input.queries[nextQuery++ % input.queries.length]!;
      const request = api.search(key, q, { limit: input.limit }).then((res) => {
        if (res.status === 0) tally.transportError(/timeout|aborted/i.test(res.error ?? ''));
        else tally.response(res.status, performance.now() - scheduled, res.serverTiming);
        onResponse(tally.responses);
      });
      inFlight.add(request);
      void request.finally(() => inFlight.delete(request));
    }
  };
  await Promise.all(input.users.map(user));
  await Promise.all(inFlight);
}

async function warmUp(input: HttpLoopInput): Promise<WarmupTally | null> {
  const w = input.warmup;
  if (!w || w.users.length === 0 || w.seconds <= 0) return null;
  const tally = new HttpTally({ scheduled: true, windows: new WindowRecorder(Date.now(), w.seconds) });
  await openLoop({ ...input, users: w.users, seconds: w.seconds }, w.ratePerUser, tally, () => undefined);
  return { requests: tally.responses + tally.errors, ok: tally.ok };
}

export const httpLoadJob = defineJob<HttpLoopInput, { input: HttpLoopInput; warmup: WarmupTally | null }, HttpLoopOutput, number>(import.meta.url, 'httpLoadJob', {
  prepare: async (input) => ({ input, warmup: await warmUp(input) }),
  async run({ input, warmup }, ctx) {
    const tally = new HttpTally({ scheduled: input.ratePerUser !== null, windows: new WindowRecorder(ctx.startedAt, input.seconds) });
    if (input.ratePerUser === null) await closedLoop(input, tally, ctx);
    else await openLoop(input, input.ratePerUser, tally, (n) => ctx.progress(n));
    return { tally: tally.snapshot(), warmup };
  },
});
