// Lint with type information (typescript-eslint) for the defects that have mattered here: a promise
// nobody awaits (a dropped `handleConnection` promise once ended the gateway), a promise where a
// callback is expected, a switch that misses a case. Formatting is prettier's (`npm run lint`), and
// import boundaries and cycles are dependency-cruiser's (.dependency-cruiser.cjs).
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'libs/client/dist/**',
      'libs/client-react/dist/**',
      'node_modules/**',
      'coverage/**',
      'apps/gateway/public/**',
      '**/*.js',
      '**/*.cjs',
      '**/*.mjs',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      // Rows from `query()` and amqplib's message properties are typed `any` by those libraries; the
      // repositories and decoders give them their types, so these would flag every such line.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      // Fakes and interface implementations are async without awaiting anything, on purpose.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts', '**/*.faults-spec.ts', 'test/**/*.ts'],
    rules: {
      // `expect(mock.method)` and jest's mocks pass methods around unbound on purpose.
      '@typescript-eslint/unbound-method': 'off',
      // Response bodies read by the tests are JSON of whatever shape the assertion checks.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
);
