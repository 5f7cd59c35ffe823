/**
 * The one logger. Diagnostics go to stderr as JSON lines (pretty when stderr is a terminal or
 * LOG_FORMAT=pretty), at LOG_LEVEL; stdout is left to what commands print as their result.
 * The worker bridges Temporal's Runtime logger into it (src/worker.ts), the API hands it to Fastify
 * (src/api/server.ts), and workflows and activities log through Temporal's `log`, which lands here
 * with their workflow and activity ids.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import PinoPretty from 'pino-pretty';
import { loadLogSettings, stderrIsTTY, type LogSettings } from './config.js';

export type { Logger } from 'pino';

const STDERR = 2;

/**
 * A root logger with these settings. `destination` (tests) replaces stderr. Writes are synchronous:
 * log volume is low, and a process that exits right after logging (a CLI error) keeps its last line.
 */
export function createLogger(settings: LogSettings, destination?: DestinationStream): Logger {
  if (settings.format === 'pretty') {
    const pretty = PinoPretty({
      destination: destination ?? STDERR,
      sync: true,
      colorize: destination === undefined && stderrIsTTY(),
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname',
    });
    return pino({ level: settings.level }, pretty);
  }
  return pino(
    {
      level: settings.level,
      timestamp: pino.stdTimeFunctions.isoTime,
      // "level":"warn" rather than 40: the lines are read by people and log shippers alike.
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ dest: STDERR, sync: true }),
  );
}

/**
 * LOG_LEVEL / LOG_FORMAT from the environment. A bad value falls back to the defaults here: every
 * command calls loadConfig first, which reports it (naming the variable) and stops the process.
 */
function environmentSettings(): LogSettings {
  try {
    return loadLogSettings();
  } catch {
    return { level: 'info', format: stderrIsTTY() ? 'pretty' : 'json' };
  }
}

/** The process's root logger. Make children with `.child({ component })`; never a logger of your own. */
export const logger: Logger = createLogger(environmentSettings());

/** `log` for a component, at least as quiet as `floor` (the root may be quieter still: LOG_LEVEL=error). */
export function quietChild(log: Logger, bindings: Record<string, unknown>, floor: 'warn' | 'error'): Logger {
  const level = log.levelVal >= log.levels.values[floor]! ? log.level : floor;
  return log.child(bindings, { level });
}

export interface RateLimitedWarn {
  (err: unknown, message: string): void;
  /** Writes the held-back summary now, if there is one. */
  flush(): void;
}

/**
 * A warn for errors that can come in floods (an idle pool's clients all losing the server at once,
 * Redis reconnect attempts every few hundred ms): at most one line per `intervalMs`. The first error
 * is logged at once; repeats within the interval are counted and, when it ends, one line shows the
 * latest of them with `suppressed`: how many were held back since the previous line. Nothing is
 * swallowed without a trace. The timer is unref'd: it never keeps a process alive.
 */
export function rateLimitedWarn(log: Logger, intervalMs = 10_000): RateLimitedWarn {
  let lastLine = -Infinity;
  let suppressed = 0;
  let latest: { err: unknown; message: string } | undefined;
  let timer: NodeJS.Timeout | undefined;

  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (suppressed === 0 || !latest) return;
    log.warn({ err: latest.err, suppressed }, `${latest.message} (${suppressed} held back in the last ${Math.round(intervalMs / 1000)} s)`);
    lastLine = Date.now();
    suppressed = 0;
    latest = undefined;
  };

  const warn = (err: unknown, message: string) => {
    const now = Date.now();
    if (now - lastLine >= intervalMs && suppressed === 0) {
      lastLine = now;
      log.warn({ err }, message);
      return;
    }
    suppressed++;
    latest = { err, message };
    timer ??= setTimeout(flush, Math.max(0, lastLine + intervalMs - now)).unref();
  };
  return Object.assign(warn, { flush });
}
