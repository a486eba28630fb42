// ESLint flat config (typescript-eslint). Rules are the recommended sets, plus what this codebase
// already follows by habit (no `any`, no unused bindings, `import type` for types), so that the
// whole tree passes after one mechanical pass (`npm run format`, then `eslint --fix`).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    // Build output, dependencies, run directories and data files are not source.
    ignores: [
      'dist/**',
      'node_modules/**',
      'runs/**',
      'out/**',
      'bench-results/**',
      '.build/**',
      '.device/**',
      'models/**',
      'data/**/*.json',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      // `_`-prefixed parameters are kept on purpose (callback shapes: `(i, _probs, logits) => …`).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // `x!` after a bounds check is how this code reads typed arrays (see noUncheckedIndexedAccess in tsconfig).
      '@typescript-eslint/no-non-null-assertion': 'off',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'prefer-const': 'error',
      'no-var': 'error',
    },
  },
  {
    // Scripts under .ci and the config files themselves run as plain Node ESM.
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: { process: 'readonly', console: 'readonly' } },
  },
);
