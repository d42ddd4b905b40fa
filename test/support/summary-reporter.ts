import type { Reporter, TestModule } from "vitest/node";

/**
 * Prints the plain closing line CI reads: `N passed, N failed, N skipped`.
 * A test file that fails to load, or whose hooks throw, counts as one failure, so a broken import or
 * a missing dependency in a beforeAll cannot pass silently.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = unhandledErrors.length;
    let skipped = 0;
    for (const mod of testModules) {
      let anyFailedTest = false;
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") passed++;
        else if (state === "failed") {
          failed++;
          anyFailedTest = true;
        } else skipped++;
      }
      // A file that failed with no failed test: it did not load, or a hook (a suite's beforeAll, an
      // afterAll) threw, which skips or outlives the tests. Each such file counts as one failure.
      if (mod.state() === "failed" && !anyFailedTest) failed++;
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
