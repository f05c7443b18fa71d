import './instrument'; // first: starts tracing before the modules it instruments load
import { configOrExit, createLogger, runMain, ServiceState } from '@eshop/common';
import { loadProductConfig } from './config';
import { SERVICE_NAME, startProductService } from './service';

const config = configOrExit(() => loadProductConfig());
const logger = createLogger(SERVICE_NAME, config.logLevel);
const state = new ServiceState();

void runMain(() => startProductService(config, { logger, state }), {
  logger,
  state,
  shutdownTimeoutMs: config.shutdownTimeoutMs,
  shutdownDelayMs: config.shutdownDelayMs,
});
