import type { Logger } from 'pino';
import { runningTracing } from './tracing';

export type Phase = 'starting' | 'ready' | 'draining' | 'stopped';

/** Where a process is in its life; /readyz is green only in `ready`. */
export class ServiceState {
  private current: Phase = 'starting';

  get phase(): Phase {
    return this.current;
  }

  get accepting(): boolean {
    return this.current === 'ready';
  }

  set(phase: Phase): void {
    this.current = phase;
  }
}

/** Something with a graceful stop, e.g. a service returned by its `start()`. */
export interface Stoppable {
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Rejects after `ms`; used to bound shutdown and readiness checks. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export interface MainOptions {
  logger: Logger;
  shutdownTimeoutMs: number;
  /** Wait after SIGTERM, with readiness already failing, before draining. */
  shutdownDelayMs?: number;
  state?: ServiceState;
}

/**
 * Runs a process: starts it, then on SIGTERM/SIGINT marks it not ready, waits `shutdownDelayMs`,
 * and stops it within `shutdownTimeoutMs` (exit 0), or exits 1 if stopping fails or takes too long.
 */
export async function runMain(start: () => Promise<Stoppable>, options: MainOptions): Promise<void> {
  const { logger } = options;
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason }, 'unhandled promise rejection');
  });
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception; exiting');
    process.exit(1);
  });

  let running: Stoppable;
  try {
    running = await start();
  } catch (err) {
    logger.fatal({ err }, 'start-up failed');
    await flushTraces(logger);
    process.exit(1);
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal during shutdown; exiting now');
      process.exit(1);
    }
    stopping = true;
    options.state?.set('draining');
    logger.info({ signal }, 'shutting down');
    try {
      if (options.shutdownDelayMs) await sleep(options.shutdownDelayMs);
      await withTimeout(running.stop(), options.shutdownTimeoutMs, 'graceful shutdown');
      options.state?.set('stopped');
      logger.info('stopped cleanly');
      await flushTraces(logger);
      process.exit(0);
    } catch (err) {
      logger.error({ err }, 'graceful shutdown failed');
      await flushTraces(logger);
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

/** Exports the spans still buffered (the last requests' traces), within a bound: a dead back end never holds up the exit. */
async function flushTraces(logger: Logger): Promise<void> {
  const tracing = runningTracing();
  if (!tracing.enabled) return;
  try {
    await withTimeout(tracing.shutdown(), 3000, 'trace export');
  } catch (err) {
    logger.warn({ err }, 'the last spans could not be exported');
  }
}

/**
 * Runs shutdown steps in order (e.g. HTTP drain → consumers → outbox → producer → DB pool),
 * continuing past a failing step so later resources are still released; rethrows the first error.
 */
export async function stopInOrder(logger: Logger, steps: Array<[name: string, stop: () => Promise<void>]>): Promise<void> {
  let first: unknown;
  for (const [name, stop] of steps) {
    try {
      await stop();
      logger.debug({ step: name }, 'stopped');
    } catch (err) {
      logger.error({ err, step: name }, 'shutdown step failed');
      first ??= err;
    }
  }
  if (first) throw first;
}
