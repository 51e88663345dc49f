// ESLint (flat config): the recommended rules of ESLint and typescript-eslint
// for every TypeScript and JavaScript file of the repository. Rules turned off
// or tuned below say why. `make test` runs `npx eslint .` (Makefile, lint).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    // Build output, installed and generated files, local data.
    ignores: ['dist/', 'node_modules/', '.data/', 'coverage/', 'test-results/', 'bench/results/', 'test/deploy/renders/'],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // A leading underscore marks a binding kept on purpose: a destructured
      // field left out of a rest object, an argument a signature requires.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // Tests read JSON answers loosely where a schema has already parsed them
    // or the assertion itself states the shape.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // The operator console runs in the browser.
    files: ['console/src/**/*.ts'],
    languageOptions: { globals: { ...globals.browser } },
  },
);
