// Three tiers (STYLE.md): unit specs beside the code may replace Redis and MySQL;
// integration and e2e specs under test/ talk to the machine's real MariaDB and Redis.
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] };
const common = { transform, testEnvironment: 'node', moduleFileExtensions: ['ts', 'js', 'json'] };

module.exports = {
  projects: [
    { ...common, displayName: 'unit', rootDir: 'src', testRegex: '\\.spec\\.ts$' },
    {
      ...common,
      displayName: 'integration',
      rootDir: 'test',
      testRegex: 'integration/.*\\.int-spec\\.ts$',
    },
    {
      ...common,
      displayName: 'e2e',
      rootDir: 'test',
      testRegex: 'e2e/.*\\.e2e-spec\\.ts$',
    },
  ],
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  testTimeout: 60000,
};
