/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Finds a PostgreSQL server for the tests that need one (test/helpers/requirements.ts).
  globalSetup: '<rootDir>/test/helpers/global-setup.ts',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
  },
  testTimeout: 300000,
  // PGlite instances and servers are per file; a few files in parallel keep
  // the 2-core machines busy without starving the database.
  maxWorkers: 2,
};
