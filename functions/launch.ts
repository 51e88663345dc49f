import { FUNCTION_TARGETS } from '../shared/config/targets.js';

/**
 * The image's CMD (dist/bundles/launch.mjs): starts FUNCTION_TARGET's own
 * bundle, dist/bundles/<target>.mjs (functions/targets/, bundled by
 * scripts/bundle.mjs), which loads only that target's code. A cold start is
 * mostly module loading: main.js loads every unit, ~480 files; a bundle is
 * one file holding only what its target uses (README, "Cold start").
 * Unset or unknown targets go to dist/functions/main.js: the dev host, or
 * its refusal of an unknown FUNCTION_TARGET (exit 2, naming the valid ones).
 */
const target = process.env.FUNCTION_TARGET;
const known = (FUNCTION_TARGETS as readonly (string | undefined)[]).includes(target);
// Specifiers built at run time: esbuild leaves them alone instead of bundling them into this file.
await import(known ? new URL(`./${target}.mjs`, import.meta.url).href : new URL('../functions/main.js', import.meta.url).href);
