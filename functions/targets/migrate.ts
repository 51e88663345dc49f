// FUNCTION_TARGET=migrate as the image runs it (dist/bundles/migrate.mjs):
// the migrator alone, no HTTP host.
import { runMigrations } from '../../shared/roots/migrate.js';
import { startTarget } from '../../shared/roots/start.js';

startTarget('migrate', runMigrations);
