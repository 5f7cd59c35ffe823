/**
 * Byte sizes for people. Binary units (KiB, MiB, GiB), because what is shown is PostgreSQL memory
 * settings, index sizes and RAM, all counted in powers of 1024; three significant digits. A pure
 * module: workflows import it too.
 */
import prettyBytes from 'pretty-bytes';

export function formatBytes(bytes: number): string {
  return prettyBytes(bytes, { binary: true });
}
