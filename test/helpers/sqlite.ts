import { open } from 'node:fs/promises';

/**
 * An SQLite file's format versions (header bytes 18 and 19, write and read): 2 when the database is
 * in WAL mode, 1 when it uses a rollback journal. The mode is stored in the file, so this reads what
 * the Temporal dev server set, whatever its command line said.
 */
export async function sqliteFormatVersions(file: string): Promise<[number, number]> {
  const handle = await open(file, 'r');
  try {
    const { buffer } = await handle.read(Buffer.alloc(2), 0, 2, 18);
    return [buffer[0]!, buffer[1]!];
  } finally {
    await handle.close();
  }
}
