/**
 * The report's image browser in a real headless Chromium (the system's Debian `chromium`, driven
 * by playwright-core), opened from file:// with the network cut off: sorting by a column header,
 * filtering by class, opening an image shows its maps, and the page logs no console error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { writeNpy } from '../../io/npy.js';
import { buildReport } from '../../stages/report/index.js';
import { parseMapFile } from '../../stages/report/kept-maps.js';
import { AGREE, tempDir, writeExamples, writeRun } from './report-fixture.js';

const CHROMIUM = process.env.SGLRP_CHROMIUM ?? '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (Debian: apt-get install chromium; .ci/run installs it)`;

test(
  'image browser: sort by a header, filter by class, open an image and see its maps, no console errors',
  { skip, timeout: 120_000 },
  async () => {
    const runDir = await tempDir();
    await writeRun(runDir, AGREE);
    await writeExamples(runDir, 'img0', ['input', 'sglrp_gt', 'lrp_gt', 'clrp_top2']);
    // A run with keepMaps: img1's maps as .npy (the report draws them into report/maps/).
    await mkdir(join(runDir, 'maps'));
    await writeNpy(join(runDir, 'maps', 'img1_sglrp_gt.npy'), Float32Array.from([0, 1, 2, 3, 4, 5]), [2, 3]);
    await writeNpy(join(runDir, 'maps', 'img1_lrp_top2.npy'), Float32Array.from([1, 0, 0, 0, 0, 0]), [2, 3]);
    const { htmlPath } = await buildReport([runDir], { outDir: join(runDir, 'out'), resamples: 2000 });

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console: ${m.text()}`);
      });
      page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
      // Nothing but the file itself may load: any other request is a report that needs a network.
      await page.route('**/*', (route) =>
        route.request().url().startsWith('file:') || route.request().url().startsWith('data:') ? route.continue() : route.abort(),
      );
      page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
      await page.goto(pathToFileURL(htmlPath).href);

      const ids = () => page.$$eval('#img-table tbody tr', (rows) => rows.map((r) => (r as HTMLElement).dataset.id));
      assert.deepEqual(await ids(), ['img0', 'img1', 'img2', 'img3']);

      // Sort by SGLRP's mean gt drop: first click sorts descending (best first). AGREE's SGLRP gt drops
      // (mean of p = 1 and 3): img0 0.45, img1 0.55, img2 0.65, img3 0.75.
      await page.click('#img-table th[data-key="m:2"]');
      assert.deepEqual(await ids(), ['img3', 'img2', 'img1', 'img0']);
      await page.click('#img-table th[data-key="m:2"]');
      assert.deepEqual(await ids(), ['img0', 'img1', 'img2', 'img3']);
      const firstScore = await page.$eval('#img-table tbody tr td:nth-child(9)', (td) => td.textContent);
      assert.equal(firstScore, '0.4500');

      // Filtering by method leaves one score column; by class (all AGREE images are class 1) keeps all.
      await page.selectOption('#img-method', 'sglrp');
      assert.equal(await page.$$eval('#img-table thead th', (th) => th.length), 7);
      await page.selectOption('#img-class', '1');
      assert.equal((await ids()).length, 4);

      // Open img0: its scores and the maps of the example tables appear.
      await page.click('#img-table tbody tr[data-id="img0"] a.open-image');
      await page.waitForSelector('#img-detail img.map');
      const maps = await page.$$eval('#img-detail img.map', (imgs) =>
        imgs.map((i) => ({
          alt: i.getAttribute('alt'),
          loaded: (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0,
        })),
      );
      assert.deepEqual(maps.map((m) => m.alt).sort(), ['clrp_top2', 'input', 'lrp_gt', 'sglrp_gt']);
      assert.ok(
        maps.every((m) => m.loaded),
        JSON.stringify(maps),
      );
      // img1's kept maps come from files beside the report (relative links work from file://).
      await page.click('#img-table tbody tr[data-id="img1"] a.open-image');
      await page.waitForSelector('#img-detail img.map');
      const kept = await page.$$eval('#img-detail img.map', (imgs) =>
        imgs.map((i) => ({ src: i.getAttribute('src'), loaded: (i as HTMLImageElement).naturalWidth === 3 })),
      );
      assert.deepEqual(kept, [
        { src: 'maps/img1_lrp_top2.png', loaded: true },
        { src: 'maps/img1_sglrp_gt.png', loaded: true },
      ]);
      // An image without saved maps says so instead of showing nothing.
      await page.click('#img-table tbody tr[data-id="img2"] a.open-image');
      assert.match((await page.textContent('#img-detail')) ?? '', /No maps saved for this image/);

      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  },
);

test('kept map file names split into image id and map key, underscores in the id kept', () => {
  assert.deepEqual(parseMapFile('n01440764_x_1_sglrp_top2.npy'), { image: 'n01440764_x_1', key: 'sglrp_top2' });
  assert.equal(parseMapFile('notamap.npy'), null);
});
