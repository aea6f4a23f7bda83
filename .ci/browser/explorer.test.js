// Drives the /api HTML explorer the way a person would, in Debian's headless Chromium:
// entry point -> images -> an image -> the launch form (choose a profile, set a range input)
// -> launch -> stop -> the instance page says STOPPED. Saves a screenshot.
//
// Run by run.sh, which starts deltacloudd and sets DELTACLOUD_URL (http://127.0.0.1:PORT) and
// SCREENSHOT. Any failed step throws; the process then exits non-zero.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');

const BASE = process.env.DELTACLOUD_URL;
const SHOT = process.env.SCREENSHOT;
const STEP_TIMEOUT_MS = 15000;

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  console.log(`ok - ${what}`);
}

async function main() {
  if (!BASE || !SHOT) throw new Error('DELTACLOUD_URL and SCREENSHOT must be set');
  // A fresh profile for every run: no state from earlier runs or from a developer's browser.
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'deltacloud-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    // The machine's network is closed: without these Chromium keeps trying Google's hosts.
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
    // Answers the explorer's Basic challenge, as the browser's login prompt would.
    httpCredentials: { username: 'mockuser', password: 'mockpassword' },
    viewport: { width: 900, height: 1000 },
  });
  try {
    const page = context.pages()[0] || (await context.newPage());
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    // The explorer must not load anything from elsewhere (no CDN, no fonts).
    const foreign = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(BASE)) foreign.push(r.url());
    });

    let resp = await page.goto(`${BASE}/api`);
    check(resp.status() === 200, 'GET /api answers 200');
    check((resp.headers()['content-type'] || '').startsWith('text/html'), '/api is HTML in a browser');
    check((await page.title()) === 'Deltacloud API 1.1.3', 'entry point title');
    check((await page.locator('meta[name=viewport]').count()) === 1, 'viewport meta for phones');

    await Promise.all([page.waitForURL(`${BASE}/api/images`), page.getByRole('link', { name: 'Images', exact: true }).click()]);
    check((await page.locator('h1').innerText()) === 'Images', 'images list');

    await Promise.all([page.waitForURL(`${BASE}/api/images/img1`), page.getByRole('link', { name: 'img1', exact: true }).click()]);
    await Promise.all([
      page.waitForURL(/\/api\/instances\/new\?image_id=img1$/),
      page.getByRole('link', { name: 'Launch an instance' }).click(),
    ]);
    check((await page.locator('h1').innerText()) === 'Launch an instance', 'launch form');

    // Choose a profile with ranges; the form then offers bounded hwp_* inputs.
    await page.locator('select[name=hwp_id]').selectOption('m1-large');
    await Promise.all([
      page.waitForURL(/hwp_id=m1-large/),
      page.getByRole('button', { name: 'Choose this profile' }).click(),
    ]);
    const memory = page.locator('input[name=hwp_memory]');
    check((await memory.getAttribute('type')) === 'number', 'memory range is a number input');
    check((await memory.getAttribute('min')) === '7680' && (await memory.getAttribute('max')) === '15360',
      'memory input carries the profile range');
    check((await page.locator('select[name=hwp_storage] option').count()) === 2, 'storage enum is a select');
    check((await page.locator('select[name=realm_id] option[value=us]').count()) === 1, 'realms offered');

    await memory.fill('8192');
    await page.locator('input[name=name]').fill('browser-test');
    await page.locator('select[name=realm_id]').selectOption('eu');
    await Promise.all([
      page.waitForURL(/\/api\/instances\/inst\d+$/),
      page.getByRole('button', { name: 'Launch an instance' }).click(),
    ]);
    const instanceUrl = page.url();
    const cell = (label) => page.locator('tr', { has: page.locator(`th:text-is("${label}")`) }).locator('td');
    check((await cell('Name').innerText()) === 'browser-test', `launched ${instanceUrl}`);
    check((await cell('State').innerText()) === 'RUNNING', 'new instance is RUNNING');
    check((await cell('Realm').innerText()) === 'eu', 'chosen realm');
    check((await cell('Hardware profile').innerText()).includes('memory=8192'), 'memory override applied');

    await Promise.all([
      page.waitForURL(instanceUrl),
      page.getByRole('button', { name: 'Stop', exact: true }).click(),
    ]);
    check((await cell('State').innerText()) === 'STOPPED', 'after Stop the page shows STOPPED');
    check((await page.getByRole('button', { name: 'Start', exact: true }).count()) === 1, 'Start offered');

    fs.mkdirSync(path.dirname(SHOT), { recursive: true });
    await page.screenshot({ path: SHOT, fullPage: true });
    check(fs.statSync(SHOT).size > 0, `screenshot saved to ${SHOT}`);
    check(foreign.length === 0, `no requests outside the server (${foreign.join(', ')})`);
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().then(
  () => console.log('browser test passed'),
  (e) => {
    console.error(`browser test FAILED: ${e && e.stack ? e.stack : e}`);
    process.exitCode = 1;
  },
);
