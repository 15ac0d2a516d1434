import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// raft/, tree/ and session/ are pure: deterministic, driven by ticks and injected PRNGs,
// so a seeded simulation can replay them exactly.
const pureRestrictions = {
  'no-restricted-globals': ['error',
    { name: 'Date', message: 'pure module: time comes in as an argument' },
    { name: 'setTimeout', message: 'pure module: no timers' },
    { name: 'setInterval', message: 'pure module: no timers' },
    { name: 'setImmediate', message: 'pure module: no timers' },
    { name: 'process', message: 'pure module: no process access' },
    { name: 'performance', message: 'pure module: no clocks' },
    { name: 'crypto', message: 'pure module: randomness is injected' },
  ],
  'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'pure module: use the injected Prng' }],
  'no-restricted-imports': ['error', { patterns: [{ group: ['node:*', 'fs', 'net', 'http', 'os', 'child_process', 'crypto'], message: 'pure module: no I/O' }] }],
};

export default tseslint.config(
  { ignores: ['dist/**', 'dist-tools/**', 'node_modules/**', 'coverage/**', 'openapi/**', 'src/api/static/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  { files: ['src/tree/**', 'src/raft/**', 'src/session/**'], rules: pureRestrictions },
  // The node loop takes its time from the injected Clock (util/clock.ts), so that the simulator
  // (tools/sim) runs it on virtual time: no timer or clock of its own.
  {
    files: ['src/cluster/{node-loop,raft-node,forwarding,read-index,admin,cluster-view,peer-directory,transport-memory}.ts'],
    rules: {
      'no-restricted-globals': ['error',
        ...['Date', 'setTimeout', 'setInterval', 'setImmediate', 'performance', 'queueMicrotask'].map((name) => ({ name, message: 'node loop: time comes from the injected Clock' })),
      ],
    },
  },
  { files: ['test/**'], rules: { '@typescript-eslint/no-non-null-assertion': 'off' } },
);
