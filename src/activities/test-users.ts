/**
 * The rate-limit validation's throwaway users: registered through the API under test inside the
 * activity that uses them, and deleted through that same API (DELETE /api/v1/users/me with their own
 * keys) in that activity's `finally`, so a failed check cleans up too and the deployment that holds
 * them, local or remote, is the one they leave. Their keys stay in this process's memory: activity
 * results carry counts, never keys. A user a later activity needs (check 3, across a workflow timer)
 * is handed over sealed (key-escrow.ts) and deleted by releaseHeldUsers instead.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import pLimit from 'p-limit';
import { ApiClient, ApiRequestError, type RegisteredUser } from '../api/api-client.js';
import { LOAD_TEST_EMAIL_DOMAIN } from '../benchmark/http-load.js';
import type { TokenBucket } from '../ratelimit/token-bucket.js';
import type { KeyEscrow, SealedKey } from './key-escrow.js';

/** Where a check's users are created and whether they are deleted afterwards. */
export interface TestUsersInput {
  baseUrl: string;
  /** Every user of the run has an e-mail starting with this. */
  emailPrefix: string;
  /** Delete the users (their contributions cascade) and their buckets when the activity ends. */
  cleanup: boolean;
}

/** What became of an activity's users: counts only. */
export interface TestUsersReport {
  registered: number;
  deleted: number;
  /** Bucket keys removed from the worker's Redis (the API's, when it shares it). */
  keysDeleted: number;
  errors: string[];
}

/** A user handed to a later activity: its id and its sealed key, never the key itself. */
export type HeldUser = { userId: string } & SealedKey;

export interface TestUserTools {
  buckets: TokenBucket;
  escrow: KeyEscrow;
}

const REGISTER_IN_FLIGHT = 8;

function registrationFailure(err: unknown, baseUrl: string): ApplicationFailure {
  if (err instanceof ApiRequestError && err.status === 429) {
    return ApplicationFailure.retryable(
      `${err.message}. The API limits registrations per client address (RATE_LIMIT_REGISTER_PER_MINUTE); the check retries, or raise that limit for validation runs.`,
      'RegistrationLimited',
    );
  }
  if (err instanceof ApiRequestError && err.status >= 400 && err.status < 500) {
    return ApplicationFailure.nonRetryable(`${err.message}. Is ${baseUrl} a CommonTrace API?`, 'RegistrationRefused');
  }
  return ApplicationFailure.retryable(
    `${(err as Error).message}. Check that the API at ${baseUrl} is up (\`npm run cli -- api\` serves one locally).`,
    'ApiUnreachable',
  );
}

/**
 * Deletes each user through the API with its own key; failures are reported, not thrown. Buckets are
 * reset before (so a bucket the check just emptied does not refuse the delete, when the API shares
 * this worker's Redis) and after (the delete spends a write token, which leaves a bucket behind).
 */
async function deleteUsers(client: ApiClient, buckets: TokenBucket, users: readonly RegisteredUser[]): Promise<Omit<TestUsersReport, 'registered'>> {
  const errors: string[] = [];
  const ids = users.map((u) => u.userId);
  const reset = () =>
    buckets.reset(ids).catch((err: Error) => {
      errors.push(`bucket reset: ${err.message}`);
      return 0;
    });
  let keysDeleted = await reset();
  const outcomes = await pLimit(REGISTER_IN_FLIGHT).map(users, (u) =>
    client.deleteSelf(u.apiKey).then(
      (r) => (r === 'deleted' ? 1 : 0),
      (err: Error) => err.message,
    ),
  );
  errors.push(...outcomes.filter((o): o is string => typeof o === 'string'));
  keysDeleted += await reset();
  return { deleted: outcomes.filter((o) => o === 1).length, keysDeleted, errors };
}

/**
 * Registers one user per role (new addresses on every attempt, so a retry never meets the 409 of its
 * own earlier attempt), runs `use`, and deletes the users whatever happens, except those `use` holds
 * for a later activity and hands over by returning normally.
 */
export async function withTestUsers<R extends string, T>(
  tools: TestUserTools,
  input: TestUsersInput,
  roles: readonly R[],
  use: (users: Record<R, RegisteredUser>, hold: (role: R) => Promise<HeldUser>) => Promise<T>,
): Promise<{ value: T; testUsers: TestUsersReport }> {
  const client = new ApiClient(input.baseUrl);
  const attempt = Context.current().info.attempt;
  const registered = new Map<R, RegisteredUser>();
  const held = new Map<string, HeldUser>();
  let handedOver = false;
  let value: T;
  let removed: Omit<TestUsersReport, 'registered'> = { deleted: 0, keysDeleted: 0, errors: [] };
  try {
    // Every registration settles before a failure is thrown, so none is missed by the cleanup.
    const failures = await pLimit(REGISTER_IN_FLIGHT).map(roles, (role) =>
      client.register(`${input.emailPrefix}-${role}-a${attempt}@${LOAD_TEST_EMAIL_DOMAIN}`).then(
        (u) => void registered.set(role, u),
        (err: unknown) => ({ err }),
      ),
    );
    const failure = failures.find((f) => f !== undefined);
    if (failure) throw registrationFailure(failure.err, input.baseUrl);
    const users = Object.fromEntries(registered) as Record<R, RegisteredUser>;
    value = await use(users, async (role) => {
      const user = users[role];
      const h: HeldUser = { userId: user.userId, ...(await tools.escrow.seal(user.apiKey)) };
      held.set(user.userId, h);
      return h;
    });
    handedOver = true;
  } finally {
    // Not handed over after all: the held users are this activity's to delete, and their escrow goes.
    if (!handedOver) await Promise.all([...held.values()].map((h) => tools.escrow.release(h.handle).catch(() => undefined)));
    const mine = [...registered.values()].filter((u) => !handedOver || !held.has(u.userId));
    if (input.cleanup) removed = await deleteUsers(client, tools.buckets, mine);
  }
  return { value, testUsers: { registered: registered.size, ...removed } };
}

/**
 * Deletes users held by earlier activities and forgets their sealed keys. Idempotent: a user whose
 * escrow is already gone was released before (or its key expired, and nothing can delete it now).
 * A deletion that fails keeps the escrow and fails the activity, so Temporal retries it.
 */
export async function releaseHeldUsers(tools: TestUserTools, input: { baseUrl: string; held: HeldUser[]; cleanup: boolean }): Promise<TestUsersReport> {
  const open: (HeldUser & { apiKey: string })[] = [];
  for (const h of input.held) {
    const apiKey = await tools.escrow.open(h);
    if (apiKey !== null) open.push({ ...h, apiKey });
  }
  const removed = input.cleanup ? await deleteUsers(new ApiClient(input.baseUrl), tools.buckets, open) : { deleted: 0, keysDeleted: 0, errors: [] };
  if (removed.errors.length > 0) throw new Error(`held test users not deleted: ${removed.errors.join('; ')}`);
  await Promise.all(open.map((h) => tools.escrow.release(h.handle)));
  return { registered: 0, ...removed };
}
