import type { IncomingMessage } from 'node:http';
import { CexError } from '../errors/index.js';
import type { UnitDefinition } from './units.js';

/**
 * The unit whose static assets (UnitDefinition.assets) live at `pathname`:
 * the prefix itself or anything below it. Only GET and HEAD reach them; any
 * other method is a 405, as for a REST route.
 */
export function assetsFor(units: readonly UnitDefinition[], req: IncomingMessage, pathname: string): UnitDefinition | undefined {
  const unit = units.find((u) => u.assets && (pathname === u.assets.prefix || pathname.startsWith(`${u.assets.prefix}/`)));
  if (unit && req.method !== 'GET' && req.method !== 'HEAD') {
    throw new CexError('METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${unit.assets!.prefix}`);
  }
  return unit;
}
