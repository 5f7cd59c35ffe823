/**
 * With TEST_FILE_TIMES set (scripts/test.sh), a test process appends one line there when it exits:
 * its wall seconds, its CPU seconds (its own and those of the processes it spawned and waited for:
 * CLIs, workers), what it ran and the time it ended (Unix seconds, for a timeline of the run).
 * scripts/test.sh prints the slowest; on 2 cores the suite is CPU-bound, so the CPU column says which
 * files to make cheaper.
 */
import { appendFileSync, readFileSync } from 'node:fs';

export function recordTimesOnExit(label: string): void {
  const timesFile = process.env.TEST_FILE_TIMES;
  if (!timesFile) return;
  process.on('exit', () => {
    const line = [(performance.now() / 1000).toFixed(1), cpuSeconds().toFixed(1), label, (Date.now() / 1000).toFixed(1)].join('\t');
    appendFileSync(timesFile, `${line}\n`);
  });
}

/** utime + stime + cutime + cstime of this process from /proc/self/stat (clock ticks of 1/100 s). */
function cpuSeconds(): number {
  try {
    // Fields after the parenthesised command name; utime is the 14th field of the whole line.
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
    return fields.slice(11, 15).reduce((sum, ticks) => sum + Number(ticks), 0) / 100;
  } catch {
    return Number.NaN;
  }
}
