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
};
const pureImports = { group: ['node:*', 'fs', 'net', 'http', 'os', 'child_process', 'crypto'], message: 'pure module: no I/O' };

// The layers (docs/architecture.md): each folder of src/ imports only the folders below it.
// A face reaches the member only through the coordination interface; the product never
// imports the tooling.
const folders = ['api', 'auth', 'wire', 'cli', 'client', 'cluster', 'coordination', 'core', 'log', 'node', 'raft', 'server', 'session', 'storage', 'tree', 'util', 'watch', 'zk'];
const mayImport = {
  core: [],
  auth: ['core', 'util'],
  util: [],
  raft: ['util'],
  tree: ['core', 'util'],
  storage: ['core', 'util'],
  log: ['core', 'storage', 'util'],
  session: ['core', 'tree', 'util'],
  watch: ['core', 'tree', 'util'],
  zk: ['core', 'util'],
  cluster: ['core', 'log', 'raft', 'storage', 'util'],
  coordination: ['core', 'watch'],
  node: ['auth', 'coordination', 'core', 'log', 'session', 'tree', 'util', 'watch'],
  api: ['auth', 'coordination', 'core', 'util', 'watch'],
  client: ['core', 'tree', 'wire'],
  server: ['api', 'auth', 'cluster', 'coordination', 'core', 'log', 'node', 'storage', 'util', 'watch'],
  cli: ['api', 'auth', 'core', 'server'],
};
function layerRule(folder, pure) {
  const allowed = new Set([...mayImport[folder], folder, 'wire']);
  const forbidden = folders.filter((f) => !allowed.has(f));
  const patterns = [
    { group: forbidden.map((f) => `**/${f}/*`), message: `${folder}/ may import only ${[...mayImport[folder]].join(', ') || 'nothing of ours'} (docs/architecture.md)` },
    { group: ['**/tools/*'], message: 'the product never imports the tooling' },
  ];
  if (pure) patterns.push(pureImports);
  return { 'no-restricted-imports': ['error', { patterns }] };
}
const pureFolders = new Set(['tree', 'raft', 'session']);

export default tseslint.config(
  { ignores: ['dist/**', 'dist-tools/**', 'node_modules/**', 'coverage/**', 'openapi/**', 'src/api/static/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      // A function a reader can hold in mind: about a screen. Exceptions are named below, each with its reason.
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  { files: ['src/tree/**', 'src/raft/**', 'src/session/**'], rules: pureRestrictions },
  ...Object.keys(mayImport).map((f) => ({ files: [`src/${f}/**`], rules: layerRule(f, pureFolders.has(f)) })),
  // A test file's describe() is a list of tests, not a function to hold in mind: no length bound there.
  { files: ['test/**'], rules: { '@typescript-eslint/no-non-null-assertion': 'off', 'max-lines-per-function': 'off' } },
  // src/wire/ and the client are bundled for browsers: they never pull server code.
  { files: ['src/wire/**'], rules: { 'no-restricted-imports': ['error', { patterns: [{ group: folders.filter((f) => f !== 'core').map((f) => `**/${f}/*`), message: 'wire/ holds the JSON shapes only: it may import core/ types' }] }] } },
  // The node loop takes its time from the injected Clock (util/clock.ts), so that the simulator
  // (tools/sim) runs it on virtual time: no timer or clock of its own.
  {
    files: ['src/cluster/{node-loop,raft-node,forwarding,read-index,admin,cluster-view,peer-directory,pending-replies,transport-memory}.ts'],
    rules: {
      'no-restricted-globals': ['error',
        ...['Date', 'setTimeout', 'setInterval', 'setImmediate', 'performance', 'queueMicrotask'].map((name) => ({ name, message: 'node loop: time comes from the injected Clock' })),
      ],
    },
  },
);
