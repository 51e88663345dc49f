import { CONSOLE_PREFIX, serveConsole } from '../../shared/console/index.js';
import { defineUnit } from '../../shared/host/units.js';

/**
 * console: the operator console, static files built by `make build` (Vite,
 * console/) plus /console/config.json. No REST routes of its own: the
 * browser calls the API units through the same host (dev host) or ingress.
 */
export const operatorConsole = defineUnit({
  name: 'console',
  assets: { prefix: CONSOLE_PREFIX, serve: serveConsole },
});
