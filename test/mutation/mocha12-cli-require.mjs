// @stryker-mutator/mocha-runner 9.x require()s mocha's cli internals without an extension
// (lib/cli/options, run-helpers, collect-files); mocha 12 ships them as .cjs, which an
// extensionless require() does not try, so the runner cannot even load. Let require() try
// .cjs too (the fix pending upstream, stryker-js PR #6205, probes .js/.cjs/.mjs the same way).
// Loaded with --import into stryker and its test-runner processes only.
import Module from 'node:module';

Module._extensions['.cjs'] ??= Module._extensions['.js'];
