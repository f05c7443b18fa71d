/**
 * Tracing for api-gateway (docs/tracing.md). The entry point's first import: the SDK must start before http, express,
 * undici and mysql2 are loaded, so that its instrumentations can patch them. Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set.
 */
import { startTracing } from '@eshop/common/tracing';

startTracing('api-gateway');
