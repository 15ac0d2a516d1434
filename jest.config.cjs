// Tests are compiled to CommonJS by ts-jest (the sources are ES modules for Node);
// this avoids --experimental-vm-modules. Sources must therefore not use import.meta
// outside src/cli/ (the entry point, which tests run as a built process instead).
// The few ESM-only packages in node_modules (cookie, under fastify's inject) are compiled too.
const tsJest = ['ts-jest', { tsconfig: { isolatedModules: true, allowJs: true, module: 'commonjs', moduleResolution: 'node', target: 'ES2022', esModuleInterop: true, sourceMap: true } }];
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': tsJest, '^.+/node_modules/cookie/.+\\.js$': tsJest },
  transformIgnorePatterns: ['/node_modules/(?!cookie/)'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  maxWorkers: 2,
  testTimeout: 30000,
};
