// ESLint flat config: typescript-eslint's type-aware recommended rules over src/, bench/, test/
// and scripts/. `npm run lint` runs it beside knip and dependency-cruiser (.dependency-cruiser.cjs).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'native/**', 'test/fixtures/**'] },
  // a disable comment that no longer suppresses anything is itself an error
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    files: ['**/*.ts'],
    languageOptions: {
      // tsconfig.lint.json = tsconfig.json plus test/: the tests are type-checked too
      parserOptions: { project: './tsconfig.lint.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // the project escapes hostile control bytes for logs and errors: matching them is the point
      'no-control-regex': 'off',
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // vitest's asymmetric matchers (expect.objectContaining, expect.any …) are typed `any`
      '@typescript-eslint/no-unsafe-assignment': 'off',
      // expect(obj.method) and passing a plain object's function field along are test idioms
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' } },
  },
);
