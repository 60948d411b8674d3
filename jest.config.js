// Two projects: `unit` (beside the code, no cluster) and `integration` (<workspace>/test, one real local control
// plane per run, started by the global setup). Both run TypeScript sources through ts-jest as ES modules.
const workspaces = ['lib', 'sentry', 'operator', 'injector', 'placement', 'scheduler'];

const common = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.base.json', diagnostics: false }] },
  moduleNameMapper: {
    '^@tapr/lib$': '<rootDir>/lib/src/index.ts',
    '^@tapr/lib/testing$': '<rootDir>/lib/src/testing/index.ts',
    '^@tapr/lib/(.*)$': '<rootDir>/lib/src/$1.ts',
    '^@tapr/(sentry|operator|injector|placement|scheduler)/(.*)$': '<rootDir>/$1/src/$2.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testEnvironment: 'node',
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  // A local cluster's etcd data (make cluster-up) holds *.snap files jest would take for obsolete snapshots.
  modulePathIgnorePatterns: ['<rootDir>/.tapr/'],
};

export default {
  rootDir: '.',
  // Integration tests wait on a real API server and controllers; unit tests finish long before this.
  testTimeout: 120000,
  projects: [
    { ...common, displayName: 'unit', testMatch: workspaces.map((w) => `<rootDir>/${w}/src/**/*.test.ts`) },
    {
      ...common,
      displayName: 'integration',
      testMatch: [...workspaces, 'e2e'].map((w) => `<rootDir>/${w}/test/**/*.test.ts`),
      globalSetup: '<rootDir>/lib/dist/src/testing/jestGlobalSetup.js',
      globalTeardown: '<rootDir>/lib/dist/src/testing/jestGlobalTeardown.js',
    },
  ],
};
