import './instrument'; // first: starts tracing before the modules it instruments load
import { configOrExit, createLogger, runMain, ServiceState } from '@eshop/common';
import { loadOrderConfig } from './config';
import { SERVICE_NAME, startOrderService } from './service';

const config = configOrExit(() => loadOrderConfig());
const logger = createLogger(SERVICE_NAME, config.logLevel);
const state = new ServiceState();

void runMain(() => startOrderService(config, { logger, state }), {
  logger,
  state,
  shutdownTimeoutMs: config.shutdownTimeoutMs,
  shutdownDelayMs: config.shutdownDelayMs,
});
