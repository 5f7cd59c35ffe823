/**
 * System users: rows the project creates for itself (the seed contributor, the capacity test
 * contributor), marked `users.is_system`. Their e-mails live under SYSTEM_EMAIL_DOMAIN, which the API
 * refuses to register, and every lookup matches `is_system AND email`: a row that merely holds a
 * system e-mail (registered before the domain was reserved, or inserted by hand) is never adopted,
 * reused or deleted as a system user.
 */
import { ApplicationFailure } from '@temporalio/common';
import type pg from 'pg';

/** System users' e-mail domain; it and its subdomains are reserved (the API refuses them). */
export const SYSTEM_EMAIL_DOMAIN = 'commontrace.internal';

/** True for an address at SYSTEM_EMAIL_DOMAIN or any subdomain of it (case-insensitive). */
export function isReservedEmail(email: string): boolean {
  const domain = email.slice(email.lastIndexOf('@') + 1).toLowerCase().replace(/\.$/, '');
  return domain === SYSTEM_EMAIL_DOMAIN || domain.endsWith(`.${SYSTEM_EMAIL_DOMAIN}`);
}

export interface SystemUser {
  email: string;
  displayName: string;
  /** Marks the row as the seed contributor (users.is_seed). */
  isSeed: boolean;
}

/** Failure type of a system e-mail held by a row that is not a system user. */
export const SYSTEM_USER_CONFLICT = 'SystemUserConflict';

/**
 * The id of the system user with this e-mail, created if missing. Throws a non-retryable
 * SystemUserConflict failure when a non-system row holds the e-mail: that row is left untouched.
 */
export async function ensureSystemUser(pool: pg.Pool, user: SystemUser): Promise<string> {
  if (!isReservedEmail(user.email)) {
    throw new RangeError(`system user e-mails must be at ${SYSTEM_EMAIL_DOMAIN}, got ${user.email}`);
  }
  // On conflict the row is updated (and returned) only if it already is a system user.
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO users (email, display_name, is_seed, is_system) VALUES ($1, $2, $3, true)
     ON CONFLICT (email) DO UPDATE SET is_seed = users.is_seed OR EXCLUDED.is_seed
     WHERE users.is_system
     RETURNING id`,
    [user.email, user.displayName, user.isSeed],
  );
  if (rows[0]) return rows[0].id;
  const held = await pool.query<{ id: string; created_at: Date }>('SELECT id, created_at FROM users WHERE email = $1', [user.email]);
  const row = held.rows[0];
  throw ApplicationFailure.nonRetryable(
    `The users row for ${user.email}${row ? ` (id ${row.id}, created ${row.created_at.toISOString()})` : ''} is not a system user ` +
      `(is_system = false), so it is not used as "${user.displayName}" and nothing was changed. ` +
      `It was probably registered through the API before ${SYSTEM_EMAIL_DOMAIN} was reserved. Check who owns it; then delete it ` +
      `(DELETE FROM users WHERE email = '${user.email}' AND NOT is_system; its traces go with it), or, if it really is this ` +
      `system user, mark it (UPDATE users SET is_system = true WHERE email = '${user.email}'), and run again.`,
    SYSTEM_USER_CONFLICT,
  );
}
