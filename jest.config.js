// Three tiers: unit specs beside the code may replace Redis and MySQL;
// integration and e2e specs under test/ talk to the machine's real MariaDB and Redis. The
// integration and e2e specs run twice: against a single Redis, and (the "-cluster" projects)
// against a real local Redis Cluster of 3 masters and 3 replicas started for the run.
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] };
const common = { transform, testEnvironment: 'node', moduleFileExtensions: ['ts', 'js', 'json'] };

/**
 * Specs that stage something a cluster tier would only repeat on a single server of their own:
 * an outage of one redis-server, a process's shutdown against it, start-up configuration errors,
 * the shape of the OpenAPI document. The cluster's own outage is redis-cluster-failover.e2e-spec.
 */
const SINGLE_REDIS_ONLY = ['redis-outage', 'redis-outage-cdc', 'shutdown', 'startup-and-health', 'docs'].map((name) => `/e2e/${name}\\.e2e-spec\\.ts$`);
/** Specs of the cluster alone. */
const CLUSTER_ONLY = ['/e2e/redis-cluster-failover\\.e2e-spec\\.ts$'];

const cluster = {
  globalSetup: '<rootDir>/support/cluster-global-setup.ts',
  globalTeardown: '<rootDir>/support/cluster-global-teardown.ts',
  setupFiles: ['<rootDir>/support/cluster-tier.ts'],
};

module.exports = {
  projects: [
    { ...common, displayName: 'unit', rootDir: 'src', testRegex: '\\.spec\\.ts$' },
    { ...common, displayName: 'integration', rootDir: 'test', testRegex: 'integration/.*\\.int-spec\\.ts$' },
    {
      ...common,
      displayName: 'e2e',
      rootDir: 'test',
      testRegex: 'e2e/.*\\.e2e-spec\\.ts$',
      testPathIgnorePatterns: CLUSTER_ONLY,
      // Every answer an e2e test observes must be in the OpenAPI document (test/support/observed-answers.ts).
      globalSetup: '<rootDir>/support/observed-answers-setup.ts',
      globalTeardown: '<rootDir>/support/observed-answers-teardown.ts',
    },
    { ...common, ...cluster, displayName: 'integration-cluster', rootDir: 'test', testRegex: 'integration/.*\\.int-spec\\.ts$' },
    { ...common, ...cluster, displayName: 'e2e-cluster', rootDir: 'test', testRegex: 'e2e/.*\\.e2e-spec\\.ts$', testPathIgnorePatterns: SINGLE_REDIS_ONLY },
  ],
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  testTimeout: 60000,
};
