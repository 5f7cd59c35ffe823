/**
 * Hands a test user's API key from one activity to a later one across a workflow timer, without the
 * key ever entering Temporal history (rate-limit check 3: exhaust, durable wait, probe).
 *
 * Split knowledge: the key is sealed with AES-256-GCM under a fresh random data key. The sealed blob
 * travels through history; the data key stays in the workers' shared Redis under a random handle,
 * with a TTL. History alone is ciphertext and Redis alone is a random 32 bytes, so neither holds key
 * material. Any worker of the deployment can open the blob (a retry may land anywhere), and deleting
 * the Redis entry (release, or the TTL) makes the ciphertext in history useless for good.
 *
 * The blob is standard base64 (no '_'), so it can never read as a `ct_` key in a history scan.
 */
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/** Outlives any sane pause of the workflow between the two activities (workers down overnight). */
export const ESCROW_TTL_SECONDS = 24 * 3600;

const IV_BYTES = 12;
const TAG_BYTES = 16;
const redisKey = (handle: string) => `commontrace:key-escrow:${handle}`;

/** What history carries for a held key: a handle to the data key and the sealed key. */
export interface SealedKey {
  handle: string;
  sealed: string;
}

export class KeyEscrow {
  constructor(private readonly redis: Redis, private readonly ttlSeconds = ESCROW_TTL_SECONDS) {}

  async seal(secret: string): Promise<SealedKey> {
    const handle = randomUUID();
    const dataKey = randomBytes(32);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', dataKey, iv);
    // The handle is authenticated too: a blob only opens under the handle it was sealed for.
    cipher.setAAD(Buffer.from(handle));
    const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    await this.redis.set(redisKey(handle), dataKey.toString('base64'), 'EX', this.ttlSeconds);
    return { handle, sealed: Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64') };
  }

  /** The secret, or null once the data key is gone (released, or expired after the TTL). */
  async open(key: SealedKey): Promise<string | null> {
    const dataKey = await this.redis.get(redisKey(key.handle));
    if (dataKey === null) return null;
    const blob = Buffer.from(key.sealed, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', Buffer.from(dataKey, 'base64'), blob.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(key.handle));
    decipher.setAuthTag(blob.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(blob.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  }

  /** Forgets the data key: the sealed blob can never be opened again. */
  async release(handle: string): Promise<void> {
    await this.redis.del(redisKey(handle));
  }
}
