// Tests are compiled to CommonJS by ts-jest (the sources are ES modules for Node);
// this avoids --experimental-vm-modules. Sources must therefore not use import.meta
// outside src/cli/ (the entry point, which tests run as a built process instead).
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: { isolatedModules: true, module: 'commonjs', moduleResolution: 'node', target: 'ES2022', esModuleInterop: true, sourceMap: true } }],
  },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  maxWorkers: 2,
  testTimeout: 30000,
};
