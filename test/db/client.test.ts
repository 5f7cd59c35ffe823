import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { endPool } from '../../src/db/client.js';
import { baseConfig, uniqueName } from '../helpers/config.js';
import { closeTestPool, testPool } from '../helpers/db.js';

const ROUNDS = 20;

after(closeTestPool);

test('endPool returns once every connection has closed: terminating its backends right after reaches none of them', async () => {
  const admin = testPool();
  let lost = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const name = uniqueName('end-pool');
    const pool = new pg.Pool({ connectionString: baseConfig.databaseUrl, max: 4, application_name: name });
    // A terminated connection that is still the pool's is an 'error' on the pool (counted here;
    // without a listener it would be thrown).
    pool.on('error', () => lost++);
    await Promise.all(Array.from({ length: 4 }, () => pool.query('SELECT pg_sleep(0.01)')));
    assert.equal(pool.totalCount, 4);
    await endPool(pool);
    // What a DROP DATABASE … WITH (FORCE) does to the database's remaining connections.
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [name]);
  }
  // Let any error already on its way arrive.
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(lost, 0, `${lost} of the ended pools' connections were still open when their backends were terminated`);
});
