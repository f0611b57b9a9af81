// Lint rules: typescript-eslint's recommended set, functions of at most 80 lines outside tests, and the layer
// rule of docs/architecture.md as import restrictions (test/architecture.test.ts checks the whole graph too).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const UP_FROM_CORE = [
  '../ir/*',
  '../onnx/*',
  '../onnx/**',
  '../tools/*',
  '../cli/*',
  '../vite/*',
  '../browser/*',
  '../index.js',
  '../../passes/**',
  '../../runtime/**',
];
const layer = (files, patterns, message) => ({
  files,
  rules: { 'no-restricted-imports': ['error', { patterns: [{ group: patterns, message }] }] },
});

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'out/**',
      'node_modules/**',
      'scratch/**',
      'runtime/cpu/wasm/as/**',
      'runtime/cpu/wasm/kernels.wasm.ts',
      'fixtures/models/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // `_name` marks a parameter or binding kept for its position (kernel signatures, destructuring rest).
      // Control characters are matched on purpose: text from model files is made printable before it is shown.
      'no-control-regex': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['src/**/*.ts', 'passes/**/*.ts', 'runtime/**/*.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }] },
  },
  layer(['src/core/**/*.ts'], UP_FROM_CORE, 'src/core is the bottom layer: it imports nothing of the project above it'),
  layer(
    ['src/onnx/proto/**/*.ts'],
    [
      '../*.js',
      '../../ir/**',
      '../../tools/**',
      '../../cli/**',
      '../../vite/**',
      '../../../passes/**',
      '../../../runtime/**',
    ],
    'src/onnx/proto imports only src/core',
  ),
  layer(
    ['src/ir/**/*.ts'],
    ['../onnx/*.js', '../tools/**', '../cli/**', '../vite/**', '../index.js', '../../passes/**', '../../runtime/**'],
    'src/ir imports only src/core and src/onnx/proto',
  ),
  layer(
    ['src/onnx/*.ts'],
    ['../tools/**', '../cli/**', '../vite/**', '../index.js', '../../passes/**', '../../runtime/**'],
    'src/onnx imports only the layers below it',
  ),
  layer(
    ['passes/**/*.ts'],
    [
      '**/runtime/**',
      '**/src/tools/**',
      '**/src/cli/**',
      '**/src/vite/**',
      '**/src/browser/**',
      '**/src/index.js',
      'node:*',
    ],
    'the pass is graph → graph: no runtime, no tools, no files',
  ),
  layer(
    ['runtime/**/*.ts'],
    ['**/passes/**', '**/src/tools/**', '**/src/cli/**', '**/src/vite/**', '**/src/browser/**', '**/src/index.js'],
    'runtime/ knows the core, not the pass or the tools',
  ),
  layer(
    ['src/tools/**/*.ts'],
    ['../cli/**', '../vite/**', '../browser/**', '../index.js', '../../cli/**', '../../index.js'],
    'tools sit below the API',
  ),
  layer(
    ['src/cli/**/*.ts', 'src/vite/**/*.ts', 'src/browser/**/*.ts'],
    ['**/core/**', '**/ir/**', '**/onnx/**', '**/tools/**', '**/passes/**', '**/runtime/**'],
    'the CLI, the Vite plugin and the browser entry import only the API (src/index.ts)',
  ),
);
