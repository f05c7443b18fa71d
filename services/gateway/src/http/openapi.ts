import type { Express } from 'express';
// Generated from the services' validators by `npm run docs:openapi` (a copy of docs/openapi.json); compiled into dist.
import document from './openapi.json';

/** GET /openapi.json: the OpenAPI document of the public API, for anyone (no token, no rate limit). */
export function mountOpenApi(app: Express): void {
  const body = JSON.stringify(document);
  app.get('/openapi.json', (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.type('application/json').send(body);
  });
}
