import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { currentContext } from './context';
import { traceLogFields } from './trace-context';

export type { Logger } from 'pino';

/**
 * The one JSON logger of a process; request and order ids come from the async context, `trace_id` and `span_id`
 * from the active span (when tracing is on and the trace is recorded), so a log line leads to its trace.
 */
export function createLogger(service: string, level: string = 'info', destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    base: { service },
    messageKey: 'msg',
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin: () => ({ ...currentContext(), ...traceLogFields() }),
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'req.headers["x-eshop-identity"]',
        'headers.authorization',
        'headers.cookie',
        'headers["x-eshop-identity"]',
        '*.password',
        '*.dbPassword',
        'password',
        'dbPassword',
      ],
      censor: '[redacted]',
    },
    serializers: { err: pino.stdSerializers.err },
  };
  return destination ? pino(options, destination) : pino(options);
}
