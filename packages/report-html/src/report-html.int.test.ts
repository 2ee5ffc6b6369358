import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { repoRoot, runQuantkit } from '../../cli/src/testing/run-cli.js';
import { renderReportHtml } from './render-report-html.js';

// report.html in a real Chromium (Debian's `chromium`, driven by playwright-core): the page loads with no console
// error and no network request, the per-layer chart has one mark per measured tensor, hovering a mark shows its
// tensor, and a screenshot goes to out/test-screenshots/.

const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find(
  (file): file is string => file !== undefined && fs.existsSync(file),
);
if (CHROMIUM === undefined) {
  console.warn('report.html browser tests skipped: no Chromium found (apt-get install chromium, or set CHROMIUM_PATH)');
}
const screenshots = path.join(repoRoot, 'out/test-screenshots');

interface Layer {
  tensor: string;
  sqnrDb: number | null;
}

interface Loaded {
  page: Page;
  errors: string[];
  requests: string[];
  loadMs: number;
  /** From navigation start to the last chart drawn, measured in the page. */
  drawnMs: number;
  /** Per chart, the milliseconds it took to draw. */
  drawMs: string;
}

let browser: Browser;
let work: string;

beforeAll(async () => {
  if (CHROMIUM === undefined) return;
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'quantkit-report-html-'));
  fs.mkdirSync(screenshots, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

async function open(file: string): Promise<Loaded> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('request', (request) => requests.push(request.url()));
  const start = performance.now();
  await page.goto(`file://${file}`);
  await page.waitForSelector('body[data-rendered="true"]');
  const loadMs = performance.now() - start;
  const drawnMs = Number(await page.locator('body').getAttribute('data-rendered-at-ms'));
  const drawMs = (await page.locator('body').getAttribute('data-draw-ms')) ?? '';
  return { page, errors, requests, loadMs, drawnMs, drawMs };
}

async function checkPage(name: string, html: string, report: { layers: Layer[] }): Promise<Loaded> {
  const loaded = await open(html);
  const { page, errors, requests } = loaded;
  console.log(
    `${name}: report.html of ${report.layers.length} layers drawn ${loaded.drawnMs} ms after navigation start (${loaded.loadMs.toFixed(0)} ms from goto, as the test saw it); per chart ${loaded.drawMs}`,
  );
  expect(errors).toEqual([]);
  expect(requests).toEqual([`file://${html}`]);

  const measured = report.layers.filter((l) => typeof l.sqnrDb === 'number');
  const marks = page.locator('#chart-layers g[aria-description="per-layer SQNR"] circle');
  expect(await marks.count()).toBe(measured.length);

  const worst = measured.reduce((a, b) => (b.sqnrDb! < a.sqnrDb! ? b : a));
  const box = await page.locator(`#chart-layers g[aria-description="per-layer SQNR"] circle[aria-label="${worst.tensor}"]`).boundingBox();
  expect(box).not.toBeNull();
  await page.mouse.move(box!.x + box!.width / 2, box!.y + box!.height / 2);
  const tip = page.locator('#chart-layers g[aria-label="tip"]');
  await expect.poll(async () => tip.textContent()).toContain(worst.tensor);
  await expect.poll(async () => tip.textContent()).toContain(`SQNR ${worst.sqnrDb!.toFixed(2)} dB`);

  await page.screenshot({ path: path.join(screenshots, `${name}.png`), fullPage: true });
  return loaded;
}

describe.skipIf(CHROMIUM === undefined)('report.html in Chromium', () => {
  it('resnet18 (fixtures/reports/resnet18.json, rendered by quantkit report): loads clean, one mark per layer, hover names the tensor', async () => {
    const html = path.join(work, 'resnet18.html');
    const run = runQuantkit('report', path.join(repoRoot, 'fixtures/reports/resnet18.json'), '--html', html);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(fs.readFileSync(path.join(repoRoot, 'fixtures/reports/resnet18.json'), 'utf8'));
    const { page } = await checkPage('resnet18', html, report);
    // The precision map has one bar per op of the integer model.
    expect(await page.locator('#chart-precision g[aria-label="bar"] rect').count()).toBe(report.ops.length);
    await page.close();
  });

  it('lcnet_dbnet (quantized in the test): the report.html that quantize writes loads clean, one mark per layer, hover names the tensor', async () => {
    const out = path.join(work, 'lcnet_dbnet');
    const run = runQuantkit(
      'quantize',
      path.join(repoRoot, 'fixtures/models/lcnet_dbnet/model.onnx'),
      '--calib',
      path.join(repoRoot, 'fixtures/calib/lcnet_dbnet'),
      '--march',
      'nash-m',
      '--out',
      out,
    );
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
    const { page } = await checkPage('lcnet_dbnet', path.join(out, 'report.html'), report);
    await page.close();
  });

  it('a report the size of a 700-node model opens (time logged, not asserted)', async () => {
    // resnet18's rows repeated to 700 layers and 700 ops: the page has to stay usable at that size.
    const base = JSON.parse(fs.readFileSync(path.join(repoRoot, 'fixtures/reports/resnet18.json'), 'utf8'));
    const tile = <T extends object>(rows: T[], n: number, key: keyof T) =>
      Array.from({ length: n }, (_, i) => ({ ...rows[i % rows.length]!, [key]: `${String(rows[i % rows.length]![key])}#${i}`, order: i }));
    const layers = tile(base.layers, 700, 'tensor');
    // The sections a report gets from later verbs, drawn from resnet18's own numbers: a sensitivity table (here the
    // gap of each layer to the floor) and a comparison of two variants.
    const sensitivity = layers.slice(0, 60).map((l: Layer) => ({ tensor: l.tensor, gainDb: 30.83 - l.sqnrDb! }));
    const perfCompare = { variants: [{ variant: 'float-output', totals: base.perf.totals }, { variant: 'integer-conv', totals: { ...base.perf.totals, cpuUs: 0 } }] };
    const report = { ...base, layers, ops: tile(base.ops, 700, 'name'), sensitivity, perfCompare };
    const html = path.join(work, 'large.html');
    fs.writeFileSync(html, renderReportHtml(report));
    const { page } = await checkPage('large-700', html, report);
    expect(await page.locator('#chart-sensitivity g[aria-label="bar"] rect').count()).toBe(40);
    expect(await page.locator('#chart-perf').textContent()).toContain('integer-conv');
    await page.close();
  });
});
