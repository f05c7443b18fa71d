export { gatewayConfigDefinition, loadGatewayConfig, type GatewayConfig } from './config';
export { SERVICE_NAME, startGateway, type GatewayOptions, type RunningGateway } from './service';
export { ROUTES } from './http/routes';
