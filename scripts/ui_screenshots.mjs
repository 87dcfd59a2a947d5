// Screenshots of the Dagster asset pages and an MLflow run for docs/ (run by scripts/ui_screenshots.py,
// which starts the UIs and passes one JSON argument: chromium, out, dagster, mlflow, partition,
// experiment_id, run_id). playwright-core comes from web/node_modules.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { chromium } = createRequire(path.join(root, 'web', 'package.json'))('playwright-core');
const plan = JSON.parse(process.argv[2]);
const partition = encodeURIComponent(plan.partition);

const shots = [
  {
    file: 'dagster-trained-model.png',
    url: `${plan.dagster}/assets/trained_model?view=partitions&partition=${partition}`,
    waitFor: 'text=confusion_test',
  },
  {
    file: 'dagster-raw-candles.png',
    url: `${plan.dagster}/assets/raw_candles?view=partitions&partition=${partition}`,
    waitFor: 'text=close_price_chart',
  },
  {
    file: 'dagster-labeled-windows.png',
    url: `${plan.dagster}/assets/labeled_windows?view=partitions&partition=${partition}`,
    waitFor: 'text=labeling_measures',
  },
  {
    file: 'dagster-annotations.png',
    url: `${plan.dagster}/assets/annotations?view=events`,
    waitFor: 'text=per_partition',
    height: 1500,
  },
  {
    file: 'mlflow-run.png',
    url: `${plan.mlflow}/#/experiments/${plan.experiment_id}/runs/${plan.run_id}?workflowType=machine_learning`,
    waitFor: 'text=Description',
    height: 1400,
  },
];

const browser = await chromium.launch({
  executablePath: plan.chromium,
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-gpu'],
});
let failed = false;
try {
  // the UIs scroll inside their panes: a tall viewport shows all of the metadata
  const page = await browser.newPage({ viewport: { width: 1920, height: 4000 } });
  for (const shot of shots) {
    try {
      await page.setViewportSize({ width: 1920, height: shot.height ?? 4000 });
      await page.goto(shot.url, { waitUntil: 'domcontentloaded', timeout: 60_000 });
      await page.waitForSelector(shot.waitFor, { timeout: 60_000 });
      const skip = page.getByRole('button', { name: 'Skip' }); // Dagster's first-visit community dialog
      await skip.click({ timeout: 4_000 }).catch(() => {});
      await page.waitForLoadState('networkidle', { timeout: 20_000 }).catch(() => {});
      await page.waitForTimeout(1500); // images and late layout
      await page.screenshot({ path: path.join(plan.out, shot.file), fullPage: true });
      console.log(`ui_screenshots: ${shot.file} <- ${shot.url}`);
    } catch (error) {
      failed = true;
      await page.screenshot({ path: path.join(plan.out, `failed-${shot.file}`), fullPage: true }).catch(() => {});
      console.error(`ui_screenshots: ${shot.file} failed (${shot.url}): ${error.message}`);
    }
  }
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
