import './instrument'; // first: starts tracing before the modules it instruments load
import { configOrExit, createLogger, runMain, ServiceState } from '@eshop/common';
import { loadGatewayConfig } from './config';
import { SERVICE_NAME, startGateway } from './service';

const config = configOrExit(() => loadGatewayConfig());
const logger = createLogger(SERVICE_NAME, config.logLevel);
const state = new ServiceState();

void runMain(() => startGateway(config, { logger, state }), {
  logger,
  state,
  shutdownTimeoutMs: config.shutdownTimeoutMs,
  shutdownDelayMs: config.shutdownDelayMs,
});
