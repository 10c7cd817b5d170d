// The spec reporter, plus two things the sharded integration runner needs from each shard:
// how long each test file took (hooks included, so the shards can be balanced on real
// figures) and the titles and first lines of the failures, so the run's last screen names
// them even when a shard's own output scrolled away. Both go, as JSON, to the file named by
// MOCHA_SUMMARY_FILE (nothing is written without it).
const { writeFileSync } = require('node:fs');
const { relative } = require('node:path');
const Mocha = require('mocha');

const { EVENT_SUITE_BEGIN, EVENT_SUITE_END, EVENT_TEST_FAIL, EVENT_RUN_END } = Mocha.Runner.constants;

class FileTimingReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const files = {};
    const failures = [];
    const started = new Map();
    const fileOf = (s) => (s.file ? relative(process.cwd(), s.file) : undefined);
    runner.on(EVENT_SUITE_BEGIN, (suite) => {
      if (suite.parent?.root && suite.file) started.set(suite, Date.now());
    });
    runner.on(EVENT_SUITE_END, (suite) => {
      const t0 = started.get(suite);
      if (t0 === undefined) return;
      const file = fileOf(suite);
      files[file] = (files[file] ?? 0) + (Date.now() - t0) / 1000;
    });
    runner.on(EVENT_TEST_FAIL, (test, err) => {
      const message = String(err?.message ?? err)
        .split('\n')
        .slice(0, 6)
        .join('\n');
      failures.push({ file: fileOf(test) ?? '', title: test.fullTitle(), message });
    });
    runner.once(EVENT_RUN_END, () => {
      const out = process.env.MOCHA_SUMMARY_FILE;
      if (out) writeFileSync(out, JSON.stringify({ files, failures }));
    });
  }
}

module.exports = FileTimingReporter;
