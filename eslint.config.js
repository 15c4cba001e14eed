// Lint for what the compiler does not check: a promise nobody awaits or handles (its rejection is
// unhandled and ends the process), a promise where a callback's result is ignored, an `await` of
// something that is no promise, and a switch over a union that misses a member. Type-aware: the
// rules see tsc's types (projectService reads tsconfig.json). Style is not linted, on purpose.
// `defineConfig` is ESLint's own; typescript-eslint's `tseslint.config` is deprecated in its favour.
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['dist/', 'data/', 'runs/']),
  {
    files: ['{src,raft,storage,chaos,scripts,test}/**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      // A `default` counts as handling the rest: the error-code classifiers (retriable? a routing
      // failure?) name the codes they pick out and let every other one fall through on purpose.
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
    },
  },
);
