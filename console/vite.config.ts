import { defineConfig } from 'vite';

// `make build` runs `vite build --config console/vite.config.ts`: the
// console's static files land in dist/console/, served by the console unit
// (shared/console). base './' makes every asset URL relative; the server puts
// a <base href> naming the console's root into index.html, so one build works
// from deep links and under any ingress prefix (/cex/console/).
export default defineConfig({
  root: new URL('.', import.meta.url).pathname,
  base: './',
  publicDir: false,
  build: {
    outDir: new URL('../dist/console', import.meta.url).pathname,
    emptyOutDir: true,
    target: 'es2022',
    // Every asset a file of its own: the CSP allows no inline data but images.
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
});
