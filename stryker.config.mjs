// Mutation testing of the core modules (issue 31, item 7): `npm run test:mutation`.
// One module at a time: `npm run test:mutation -- --mutate etl/src/dedup/id-window.ts`.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: [
    'api/src/ingest/micro-batcher.ts',
    'api/src/ingest/kafka-publisher.ts',
    'etl/src/batch-builder.ts',
    'etl/src/batch-consumer.ts',
    'etl/src/dedup/id-window.ts',
    'lib/contracts/*.ts',
    'api/src/experiments/assignment-service.ts',
    'api/src/segments/segment-store.ts',
  ],
  testRunner: 'mocha',
  // The unit suite's own mocha config (spec test/unit/**/*.test.ts, timeout).
  mochaOptions: { config: '.mocharc.unit.json', spec: ['test/unit/**/*.test.ts'] },
  // The unit tests are TypeScript run through tsx, as in .mocharc.unit.json; the second
  // import lets the mocha runner load mocha 12 (see the file).
  testRunnerNodeArgs: ['--import', 'tsx', '--import', './test/mutation/mocha12-cli-require.mjs'],
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  coverageAnalysis: 'perTest',
  concurrency: 1,
  // A mutant that loops forever is detected by its timeout; the unit tests take milliseconds, so
  // waiting the default 5 s on each adds minutes to a run.
  timeoutMS: 2000,
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'json', 'html'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  clearTextReporter: { reportTests: false, logTests: true, maxTestsToLog: 3 },
  // The sandbox copy skips what the unit tests never read.
  ignorePatterns: ['infra/kafka/target', '.data', 'dist', 'reports', 'stress-testing/results'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
