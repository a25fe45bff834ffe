// ESLint flat config: typescript-eslint's recommended rules everywhere; workflow files may not import Node
// built-ins (Temporal workflows must be deterministic and run in its sandbox).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['node_modules/**', '.unprune/**', 'out/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Plain Node scripts (the install-time addon build, bin/).
    files: ['**/*.mjs', 'bin/**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
  {
    // Typed rules on TypeScript: a promise nobody awaits or catches loses its error (raced and voided promises).
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // zod's `z` export is a namespace object holding all of zod (64 locales, JSON Schema): a bundle can drop none of
      // it. `import * as z` lets esbuild keep what is used: the stage process's bundle 983 → 397 KB, its start ~50 ms.
      'no-restricted-syntax': [
        'error',
        {
          selector: "ImportDeclaration[source.value='zod'] > ImportSpecifier[imported.name='z']",
          message: "import zod as `import * as z from 'zod'` (the `z` export keeps all of zod in the bundles)",
        },
      ],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: nodeBuiltins.map((name) => ({ name, message: 'workflows must not import Node built-ins' })) },
      ],
    },
  },
  {
    files: ['ml/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '**/store/**',
                '**/sweep/**',
                '**/activities/**',
                '**/workflows/**',
                '**/worker/**',
                '**/cli/**',
                '@temporalio/*',
              ],
              message: 'ml/ imports tfjs and nothing else of ours',
            },
          ],
        },
      ],
    },
  },
  {
    // sweep/ is pure (workflows import it): ml/ types only (and ml/catalog.ts, which imports nothing), no store.
    files: ['sweep/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/ml/**', '!**/ml/catalog.js'],
              allowTypeImports: true,
              message: 'sweep/ may import ml/ types only (values from ml/catalog.ts)',
            },
            {
              group: ['**/store/**', '**/activities/**', '**/workflows/**', '**/worker/**', '**/cli/**'],
              message: 'sweep/ sits below the engines and the store',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['store/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/ml/**', '**/sweep/**', '**/activities/**', '**/workflows/**', '**/worker/**', '**/cli/**'],
              message: 'store/ imports nothing of ours',
            },
          ],
        },
      ],
    },
  },
);
