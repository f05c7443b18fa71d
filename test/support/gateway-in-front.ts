/** The real API gateway in front of an OrderStack's product service and order API, with the test issuer's keys. */
import { silentLogger, testAuthEnv } from '@eshop/test-support';
import { loadGatewayConfig } from '../../services/gateway/src/config';
import { startGateway, type RunningGateway } from '../../services/gateway/src/service';
import type { OrderStack } from '../../services/order/test/support/order-stack';

/** `env` adds or overrides gateway variables (e.g. RATE_LIMIT_PER_IP: '0' for suites that send thousands of requests). */
export function startGatewayInFront(stack: OrderStack, env: Record<string, string> = {}): Promise<RunningGateway> {
  return startGateway(
    loadGatewayConfig({
      API_GATEWAY_PORT: '0',
      PRODUCT_SERVICE_URL: stack.product.url,
      ORDER_SERVICE_URL: stack.api.baseUrl,
      LOG_LEVEL: 'silent',
      ...testAuthEnv(),
      ...env,
    }),
    { logger: silentLogger, host: '127.0.0.1' },
  );
}
