import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { runHttpLoad, type HttpLoadOptions } from '../../../src/benchmark/http-load.js';

/**
 * A stand-in for the search API: registers and deletes users, and answers searches 200 except every
 * fourth one after the warm-up searches, which gets 503 — so the windows carry errors too.
 */
let server: Server;
let url: string;
let searches = 0;
const USERS = 2;

before(async () => {
  let users = 0;
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/healthz') return res.end('{"status":"ok"}');
      if (req.method === 'DELETE' && req.url === '/api/v1/users/me') {
        res.statusCode = 204;
        return res.end();
      }
      if (req.url === '/api/v1/auth/register') {
        users++;
        res.statusCode = 201;
        return res.end(JSON.stringify({ user_id: `u${users}`, api_key: `key-${users}` }));
      }
      searches++;
      if (searches > USERS && searches % 4 === 0) res.statusCode = 503;
      res.end('{"count":0,"results":[]}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

let runs = 0;

/** A run's options (no warm-up load); the search count starts over, so each run's warm-up searches answer 200. */
const options = (extra: Partial<HttpLoadOptions>): HttpLoadOptions => {
  searches = 0;
  return { baseUrl: url, users: USERS, seconds: 1, queries: ['docker compose healthcheck'], limit: 5, runTag: `windows-${runs++}`, processes: 1, warmupSeconds: 0, ...extra };
};

test('open loop, 6 s: two windows; 2xx completions are their counts, non-2xx their errors, and both add up to the phase’s', async () => {
  const r = await runHttpLoad(options({ seconds: 6, ratePerUser: 5 }));
  assert.equal(r.requests, 60, JSON.stringify(r));
  assert.ok(r.non2xx > 0 && r.ok > 0, JSON.stringify(r));
  assert.deepEqual(r.windows.map((w) => w.startSeconds), [0, 5]);
  assert.equal(r.windows[0]!.seconds, 5);
  assert.equal(r.windows.reduce((n, w) => n + w.count, 0), r.ok);
  assert.equal(r.windows.reduce((n, w) => n + w.errors, 0), r.non2xx + r.errors);
  assert.deepEqual(r.drift, { drifting: false, reason: null });
});

test('closed loop, 1 s: one window holding every response', async () => {
  const r = await runHttpLoad(options({ seconds: 1 }));
  assert.ok(r.ok > 0, JSON.stringify(r));
  assert.equal(r.windows.length, 1);
  assert.equal(r.windows[0]!.startSeconds, 0);
  assert.equal(r.windows[0]!.count, r.ok);
  assert.equal(r.windows[0]!.errors, r.non2xx + r.errors);
  assert.equal(r.windows[0]!.p99, r.latency.p99);
});
