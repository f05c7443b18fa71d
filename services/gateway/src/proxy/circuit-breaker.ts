import { CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen, type CircuitBreakerPolicy } from 'cockatiel';
import type { Logger } from '@eshop/common';

export interface BreakerSettings {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** Time the circuit stays open before one probe is let through. */
  halfOpenAfterMs: number;
}

/** Gauge values of gateway_circuit_breaker_state. */
export const BREAKER_STATE_VALUE = { closed: 0, half_open: 1, open: 2 } as const;
export type BreakerStateName = keyof typeof BREAKER_STATE_VALUE;

/** Thrown instead of calling the upstream while the circuit is open or a probe is in flight. */
export class CircuitOpenError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('circuit breaker is open');
    this.name = 'CircuitOpenError';
  }
}

export interface UpstreamCircuitBreakerOptions {
  upstream: string;
  settings: BreakerSettings;
  /** Which errors count as failures; anything else passes through without touching the breaker. */
  isFailure: (err: Error) => boolean;
  logger: Logger;
  onStateChange: (state: BreakerStateName) => void;
}

/**
 * One upstream's cockatiel circuit breaker. Fails fast (with a Retry-After hint) while open, and
 * also while the single half-open probe is in flight — cockatiel would make those callers wait.
 */
export class UpstreamCircuitBreaker {
  private readonly policy: CircuitBreakerPolicy;
  private readonly settings: BreakerSettings;
  private openedAt = 0;

  constructor({ upstream, settings, isFailure, logger, onStateChange }: UpstreamCircuitBreakerOptions) {
    this.settings = settings;
    this.policy = circuitBreaker(handleWhen(isFailure), {
      halfOpenAfter: settings.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(settings.failureThreshold),
    });
    this.policy.onStateChange((state) => {
      const name = stateName(state);
      if (name === 'open') this.openedAt = Date.now();
      const log = name === 'open' ? logger.warn.bind(logger) : logger.info.bind(logger);
      log({ upstream, breaker: name }, `circuit breaker for ${upstream} is ${name.replace('_', '-')}`);
      onStateChange(name);
    });
  }

  /** Runs `call` through the breaker, or throws CircuitOpenError without running it. */
  execute<T>(call: () => Promise<T>): Promise<T> {
    const state = this.policy.state;
    if (state === CircuitState.HalfOpen) return Promise.reject(new CircuitOpenError(1));
    if (state === CircuitState.Open || state === CircuitState.Isolated) {
      const remainingMs = this.openedAt + this.settings.halfOpenAfterMs - Date.now();
      // Once the wait is over, cockatiel turns this call into the half-open probe.
      if (remainingMs > 0) return Promise.reject(new CircuitOpenError(Math.max(1, Math.ceil(remainingMs / 1000))));
    }
    return this.policy.execute(call);
  }
}

function stateName(state: CircuitState): BreakerStateName {
  switch (state) {
    case CircuitState.Closed:
      return 'closed';
    case CircuitState.HalfOpen:
      return 'half_open';
    default:
      return 'open';
  }
}
