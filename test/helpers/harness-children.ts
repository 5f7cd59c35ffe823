import { readdirSync, readFileSync } from 'node:fs';

/** Live processes whose parent is this one and that run a benchmark harness child (child-entry.ts). */
export function harnessChildren(): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((d) => {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      return ppid === process.pid && readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('child-entry') ? [Number(d)] : [];
    } catch {
      return [];
    }
  });
}
