import type { Reporter, TestModule } from "vitest/node";

/**
 * Prints the plain closing line CI reads: `N passed, N failed, N skipped`.
 * A test file that fails to load counts as one failure, so a broken import cannot pass silently.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = unhandledErrors.length;
    let skipped = 0;
    for (const mod of testModules) {
      let testsInModule = 0;
      for (const test of mod.children.allTests()) {
        testsInModule++;
        const state = test.result().state;
        if (state === "passed") passed++;
        else if (state === "failed") failed++;
        else skipped++;
      }
      if (testsInModule === 0 && mod.state() === "failed") failed++;
      else if (mod.errors().length > 0 && testsInModule > 0 && mod.state() === "failed") {
        // errors outside any test (e.g. in afterAll) still fail the file
        const anyFailedTest = [...mod.children.allTests()].some((t) => t.result().state === "failed");
        if (!anyFailedTest) failed++;
      }
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
