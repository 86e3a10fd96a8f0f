import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'migrations/', 'tmp/'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            // arrows point into core only: core never imports a transport
            { group: ['**/api/**', '**/bots/**', '**/admin/**', '../api/*', '../bots/*', '../admin/*'], message: 'core/ must not import transports' },
          ],
        },
      ],
    },
  },
  {
    files: ['api/**', 'bots/**', 'admin/**', 'tests/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
);
