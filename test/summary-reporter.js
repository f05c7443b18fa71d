'use strict';
/**
 * Jest reporter: ends the run with one plain line that CI systems can read
 * ("jest: N passed, N failed, N skipped"), printed after jest's own summary.
 */
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const line = `\njest: ${results.numPassedTests} passed, ${failed} failed, ${results.numPendingTests} skipped\n`;
    // jest's default reporter writes its summary after ours returns; print once it has.
    process.once('exit', () => process.stderr.write(line));
  }
}
module.exports = SummaryReporter;
