import './instrument-consumer'; // first: starts tracing before the modules it instruments load
import { configOrExit, createLogger, runMain, ServiceState } from '@eshop/common';
import { loadConsumerConfig } from './config';
import { CONSUMER_NAME, startOrderConsumer } from './consumer-service';

const config = configOrExit(() => loadConsumerConfig());
const logger = createLogger(CONSUMER_NAME, config.logLevel);
const state = new ServiceState();

void runMain(() => startOrderConsumer(config, { logger, state }), {
  logger,
  state,
  shutdownTimeoutMs: config.shutdownTimeoutMs,
  shutdownDelayMs: config.shutdownDelayMs,
});
