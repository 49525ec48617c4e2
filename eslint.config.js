// Lint for codpos: the JavaScript recommended rules plus typescript-eslint's type-aware set, over
// every tree tsc compiles (tests included, through tsconfig.test.json). A rule is turned off or
// down only with a line saying why it does not fit this code base.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['dist/', 'node_modules/', 'packaging/', 'var/', '.tap/', '.artifacts/', 'test/vectors/'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // One program for sources and tests, so test files get the type-aware rules too.
        project: './tsconfig.test.json',
        tsconfigRootDir: import.meta.dirname,
      },
    },
  },
  {
    rules: {
      // Async methods without an await are deliberate here: they implement Promise-returning
      // interfaces (transports, services, API handlers) so that a throw arrives as a rejection.
      '@typescript-eslint/require-await': 'off',
      // Indexed reads carry a deliberate `!` (the code is written as for noUncheckedIndexedAccess);
      // with that flag off the rule calls all of them unnecessary and its fix strips them.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // Tests match column-aligned CLI output with its literal double spaces, which read better than ` {2}`.
      'no-regex-spaces': 'off',
      // Rejecting with what a catch received passes the error on as it came; the rule cannot
      // tell that from rejecting with a made-up non-Error, which nothing here does.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      // `pin: string | 'cancel'` names the special value on purpose; the union is documentation.
      '@typescript-eslint/no-redundant-type-constituents': 'off',
      // An ISO 8583 field value is string | Buffer | IsoFields; the fields read with String() (STAN,
      // amount, terminal id) are plain by the dialect, never nested. A typed accessor is the codec's job.
      '@typescript-eslint/no-base-to-string': [
        'error',
        { ignoredTypeNames: ['IsoFields', 'Error', 'RegExp', 'URL', 'URLSearchParams'] },
      ],
      // Kept, with the project's convention: a `_`-named binding is one left out on purpose
      // (the rest of an object without a field, a callback's unused parameter).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // tap queues a subtest that t.test() starts and awaits it before the parent ends, so an
      // unawaited t.test() is tap's own idiom, not a lost promise; every other promise still counts.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', name: 'test', package: '@tapjs/core' },
            { from: 'package', name: 'test', package: '@tapjs/test' },
            { from: 'package', name: 'test', package: 'tap' },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Tests read JSON vectors and the CLI's JSON output untyped on purpose: the assertions
      // (t.same, t.match) are what check their shape, so a typed copy would only repeat them.
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    // The .mjs helpers tests spawn and this config are plain JavaScript outside any tsconfig.
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', setImmediate: 'readonly' },
    },
  },
);
