/**
 * What the browser tests share: the processes they start (each in its own process group,
 * stopped by its id), the test data (fixture), the inference service, one `next build`, a
 * `next start` per suite with a fresh database, Chromium, and the "ok - / not ok -" reporter
 * that ends with "N passed, N failed". Used by run.mjs (the `npm run test:e2e` entry point)
 * and every suite, which import from here; the code lives in four modules:
 *
 * - harness-process.mjs: paths, processes, clean-ups, ports, waiting, JSON over HTTP, assert;
 * - harness-services.mjs: Chromium, the test data, the inference service, the build, the web server;
 * - harness-report.mjs: the reporter, the screenshot folder, a page per suite;
 * - harness-chart.mjs: chart and prediction-overlay helpers.
 */
export * from './harness-chart.mjs';
export * from './harness-process.mjs';
export * from './harness-report.mjs';
export * from './harness-services.mjs';
