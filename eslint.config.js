// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['node_modules/', '.tools/', '.data/', 'reports/', 'drizzle/meta/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Only the config module may read the environment.
    files: ['src/**/*.ts'],
    ignores: ['src/config.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read settings through src/config.ts (loadConfig).' }],
    },
  },
  {
    // Workflow code is replayed: it must be deterministic and free of I/O. Activities do the I/O.
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Workflows must not use Node built-ins; do I/O in an activity.' })),
          patterns: [
            { group: ['../activities/*', '../activities'], allowTypeImports: true, message: 'Import activity *types* only, and call them through proxyActivities.' },
            { group: ['pg', 'ioredis', 'drizzle-orm', 'drizzle-orm/*', 'openai', '@faker-js/faker', 'uuid', 'crypto', '@temporalio/client', '@temporalio/worker', '@temporalio/activity'], message: 'Non-deterministic or I/O library: use it from an activity.' },
            // Outside src/workflows only pure modules may be imported for values; everything else is types only.
            { group: ['../*', '!../failure.js', '!../bytes.js', '!../activities', '!../activities/*', '!../search', '!../db'], allowTypeImports: true, message: 'Only types may be imported from outside src/workflows (except pure ../failure.js, ../bytes.js, ../search/candidates.js and ../db/index-types.js); do I/O in activities.' },
            { group: ['../search/*', '!../search/candidates.js'], allowTypeImports: true, message: 'Only types may be imported from outside src/workflows (except pure ../failure.js, ../bytes.js, ../search/candidates.js and ../db/index-types.js); do I/O in activities.' },
            { group: ['../db/*', '!../db/index-types.js'], allowTypeImports: true, message: 'Only types may be imported from outside src/workflows (except pure ../failure.js, ../bytes.js, ../search/candidates.js and ../db/index-types.js); do I/O in activities.' },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'No process access in workflows.' },
        { name: 'setInterval', message: 'Use sleep() or condition() from @temporalio/workflow.' },
        { name: 'fetch', message: 'Do network I/O in an activity.' },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.object.name='crypto']", message: 'Use uuid4() from @temporalio/workflow.' },
      ],
    },
  },
);
