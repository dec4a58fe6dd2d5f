import { spawnSync } from 'child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { BrowserContext, chromium, Page, Response } from 'playwright-core';
import { PASSWORD } from '../support/builders';
import { BinlogMariaDb, startBinlogMariaDb } from '../support/binlog-mariadb';
import { cdcSettled } from '../support/cdc';
import { connectDevice, within } from '../support/device-socket';
import { createOperator, registerUser, staffLogin } from '../support/flows';
import { Api } from '../support/http';
import { TestWorld } from '../support/test-app';
import { eventually } from '../support/wait';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = resolve(__dirname, '../.artifacts');
const SCREENSHOT = resolve(ARTIFACTS, 'admin-page.png');
// The machine has no network: without the background-networking flags Chromium stalls on start.
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Debian's Chromium with a profile of its own, removed on close. */
async function launchChromium(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium); this test never downloads a browser`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'hi-admin-page-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1100, height: 1300 },
  });
  return {
    context,
    // A CI run once spent the whole hook timeout in context.close() with both cores loaded: give
    // Chromium 15 s to close, then kill every process of this profile and say so.
    close: async () => {
      const closed = await Promise.race([context.close().then(() => true), new Promise<false>((done) => setTimeout(() => done(false), 15_000).unref())]);
      if (!closed) {
        console.warn(`Chromium did not close within 15 s; killing the processes of ${profile}`);
        spawnSync('pkill', ['-KILL', '-f', profile]);
      }
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

async function logIn(page: Page, url: string, phone: string, password: string): Promise<void> {
  await page.goto(`${url}/admin-ui`);
  // A fresh login even where this tab kept an earlier token.
  await page.evaluate('sessionStorage.clear()');
  await page.reload();
  await page.getByLabel('Phone', { exact: true }).fill(phone);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#cdc dd').first().waitFor();
}

async function screenshot(page: Page, name: string, fullPage = true): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = resolve(ARTIFACTS, name);
  await page.screenshot({ path, fullPage });
  console.log(`admin page screenshot: ${path}`);
}

describe('admin console in headless Chromium', () => {
  let world: TestWorld;
  let api: Api;
  let url: string;
  let context: BrowserContext;
  let closeBrowser: () => Promise<void>;
  let page: Page;

  beforeAll(async () => {
    world = await TestWorld.create();
    ({ api, url } = await world.start());
    url = url.replace('[::1]', '127.0.0.1');
    ({ context, close: closeBrowser } = await launchChromium());
    page = context.pages()[0] ?? (await context.newPage());
  });
  afterAll(async () => {
    const started = Date.now();
    await closeBrowser?.();
    const browserMs = Date.now() - started;
    await world?.close();
    const worldMs = Date.now() - started - browserMs;
    if (browserMs + worldMs > 10_000) console.warn(`slow teardown: Chromium ${browserMs} ms, the app and its stores ${worldMs} ms`);
  }, 120_000);

  it('serves the page with a strict content security policy and without a token', async () => {
    const res = await fetch(`${url}/admin-ui`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect((await fetch(`${url}/admin-ui/admin.js`)).status).toBe(200);
    expect((await fetch(`${url}/admin-ui/..%2Fadmin-ui.controller.ts`)).status).toBe(404);
  });

  it('logs in, looks up a cached phone, clears it after confirming, and the keys are gone from Redis', async () => {
    const user = await registerUser(api);
    const login = await api.post('/auth/login', { phone: user.phone, password: PASSWORD, identifier: user.identifier });
    expect(login.status).toBe(200);
    await api.get('/me', login.body.data.token);
    const keys = [`cache:appUsers:phone:${user.phone}`, `cache:appUsers:id:${user.userId}`];
    expect(await world.redis.exists(...keys)).toBe(2);

    await logIn(page, url, world.admin.phone, world.admin.password);
    await page.locator('#health dd').first().waitFor();
    expect(await page.locator('#health').innerText()).toMatch(/reachable\s+yes/);
    expect(await page.locator('#who').innerText()).toContain('admin');
    expect(await page.locator('#read-only-note').isVisible()).toBe(false);
    // Key counts arrive in a second request, after the health block is drawn.
    await page.locator('#counts tbody td').nth(3).waitFor();
    expect(await page.locator('#counts tbody td').count()).toBe(4);

    await page.getByLabel('Phone or id').fill(user.phone!);
    await page.getByRole('button', { name: 'Look up' }).click();
    const entries = page.locator('#entries');
    await entries.locator('code.key').first().waitFor();
    // Keys wrap only after a ':' (a <wbr> there), rows are indented JSON.
    expect(await entries.innerText()).toContain(keys[0]);
    expect(await entries.innerText()).toContain(keys[1]);
    expect(await entries.locator('code.key wbr').count()).toBeGreaterThan(0);
    expect(await entries.locator('pre.value', { hasText: `"phone": "${user.phone}"` }).innerText()).toMatch(/^\{\n {2}"/);

    // Cancelling deletes nothing.
    await page.getByRole('button', { name: 'Clear…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    await page.getByText('Nothing deleted.').waitFor();
    expect(await world.redis.exists(...keys)).toBe(2);

    await page.getByRole('button', { name: 'Clear…' }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.innerText()).toContain(`phone ${user.phone}`);
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await page.getByText(/Deleted 2 key\(s\) of phone/).waitFor();
    expect(await world.redis.exists(...keys)).toBe(0);
    await page.getByText(`Cached for phone ${user.phone}: 0 key(s)`).waitFor();

    await screenshot(page, 'admin-page.png');
    expect(existsSync(SCREENSHOT)).toBe(true);
  });

  it('shows the API error verbatim for a bad input, and deletes nothing', async () => {
    await world.redis.set('cache:appUsers:phone:13450000000', '1');
    await page.getByLabel('Phone or id').fill('1345*');
    await page.getByRole('button', { name: 'Look up' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    const direct = await api.get('/admin/cache/phone/1345*', await staffLogin(api, world.admin.phone, world.admin.password));
    expect([direct.status, direct.body.code]).toEqual([400, 100002]);
    expect(await alert.innerText()).toBe(`Error ${direct.body.code} (HTTP ${direct.status}): ${direct.body.msg}`);
    expect(await page.getByRole('button', { name: 'Clear…' }).isDisabled()).toBe(true);
    // The previous lookup's caption and rows are gone: nothing on screen answers another question.
    expect(await page.locator('#entries-caption').innerText()).toBe('');
    expect(await page.locator('#entries').isVisible()).toBe(false);
    expect(await world.redis.exists('cache:appUsers:phone:13450000000')).toBe(1);
  });

  it('runs the audit and shows what it found', async () => {
    const user = await registerUser(api);
    await world.redis.set(`cache:appUsers:id:${user.userId}`, JSON.stringify({ id: user.userId, phone: user.phone, nickname: 'stale', status: 1 }));
    await page.getByRole('button', { name: 'Run audit' }).click();
    await page.getByText('Audit done.').waitFor();
    expect(await page.locator('#audit-summary').innerText()).toMatch(/Scanned \d+ key\(s\): [1-9]\d* stale/);
    expect(await page.locator('#stale').innerText()).toContain(`cache:appUsers:id:${user.userId}`);
    expect(await page.locator('#audit-reasons').innerText()).toMatch(/row_differs\s+[1-9]/);

    // Repair deletes it, and the key counts are drawn again without asking.
    await page.getByRole('button', { name: 'Count keys' }).click();
    const appUsersCount = page.locator('#counts tbody td').first();
    const before = await eventually(
      'key counts with the stale key',
      async () => Number((await appUsersCount.innerText()).replace(/,/g, '')),
      (n) => n >= 1,
      5000,
    );
    await page.getByLabel('repair (delete stale keys)').check();
    await page.getByRole('button', { name: 'Run audit' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await page.getByText('Audit done.').waitFor();
    await page.getByLabel('repair (delete stale keys)').uncheck();
    const repaired = Number(/(\d+) repaired/.exec(await page.locator('#audit-summary').innerText())?.[1]);
    expect(repaired).toBeGreaterThanOrEqual(1);
    expect(await world.redis.exists(`cache:appUsers:id:${user.userId}`)).toBe(0);
    await eventually(
      'key counts drawn again',
      async () => Number((await appUsersCount.innerText()).replace(/,/g, '')),
      (n) => n <= before - 1 && n >= before - repaired,
      5000,
    );
  });

  it("shows a user's devices with their sessions and signs one out after confirming: the device is kicked", async () => {
    const user = await registerUser(api);
    const second = await api.post('/auth/login', { phone: user.phone, password: PASSWORD, identifier: `${user.identifier}-b` });
    const socket = await connectDevice(url, second.body.data.token);
    await page.getByLabel('Find by').selectOption('phone');
    await page.getByLabel('User id or phone').fill(user.phone!);
    await page.getByRole('button', { name: 'Show user' }).click();
    await page.getByText(`User ${user.userId} (${user.phone}, active): 2 device(s), 2 signed in`).waitFor();
    const row = page.locator('#devices tbody tr', { hasText: `${user.identifier}-b` });
    await row.getByRole('button', { name: 'Sign out…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Sign out' }).click();
    await page.getByText(`Device ${user.identifier}-b of user ${user.userId} signed out.`).waitFor();
    expect(await within(socket.kicked, 2000, 'kicked')).toBe('kicked');
    await page.getByText(`User ${user.userId} (${user.phone}, active): 2 device(s), 1 signed in`).waitFor();
    expect(await row.getByRole('button', { name: 'Sign out…' }).isDisabled()).toBe(true);
    expect((await api.get('/me', user.token)).status).toBe(200);
    // The same panel shows what the cache holds for the user, the password hash redacted.
    expect(await page.locator('#user-cache-caption').innerText()).toMatch(new RegExp(`Cached for user ${user.userId}: [1-9]\\d* key\\(s\\)`));
    expect(await page.locator('#user-cache').innerText()).toContain(`cache:appUsers:id:${user.userId}`);
    expect(await page.locator('#user-cache').innerText()).not.toContain('$argon2');
    // The session that just ended is in the coherence panel, with its reason and who ended it.
    await page.getByRole('button', { name: 'Refresh' }).click();
    const latest = page.locator('#recent-ends tbody tr', { hasText: `${user.identifier}-b` });
    await latest.waitFor();
    expect(await latest.innerText()).toMatch(new RegExp(`kicked[\\s\\S]*${user.userId}[\\s\\S]*staff #`));
    expect(await page.locator('#reasons').innerText()).toMatch(/kicked\s+[1-9]\d*\s+[1-9]/);
    await page.setViewportSize({ width: 390, height: 844 });
    // Readable at phone width with every panel filled: wide tables scroll inside themselves, the page does not.
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await page.locator('#user-title').scrollIntoViewIfNeeded();
    await screenshot(page, 'admin-page-phone-user.png', false);
    await page.setViewportSize({ width: 1100, height: 1300 });
  });

  it('gives an operator a read-only console: no write control at all, reading and auditing still work', async () => {
    const { phone } = await createOperator(api, await staffLogin(api, world.admin.phone, world.admin.password));
    const user = await registerUser(api);
    const operatorPage = await context.newPage();
    try {
      await logIn(operatorPage, url, phone, PASSWORD);
      await operatorPage.locator('#read-only-note').waitFor();
      expect(await operatorPage.locator('#who').innerText()).toContain('operator');
      await operatorPage.getByLabel('Find by').selectOption('phone');
      await operatorPage.getByLabel('User id or phone').fill(user.phone!);
      await operatorPage.getByRole('button', { name: 'Show user' }).click();
      await operatorPage.getByText(`User ${user.userId} (${user.phone}, active): 1 device(s), 1 signed in`).waitFor();
      await operatorPage.getByRole('button', { name: 'Run audit' }).click();
      await operatorPage.getByText('Audit done.').waitFor();

      // Not hidden behind a 403: absent.
      for (const name of [/Clear/, /Sign out/, /Delete/]) expect(await operatorPage.getByRole('button', { name }).count()).toBe(0);
      expect(await operatorPage.locator('#audit-repair, #scope-form, #clear-target, .admin-only').count()).toBe(0);
      expect(await operatorPage.getByRole('alert').isVisible()).toBe(false);
      await screenshot(operatorPage, 'admin-page-operator.png');
    } finally {
      await operatorPage.close();
    }
  });

  it('audits 200,000 stale keys: totals and the first page within 15 s, a page of 50 at a time, the page responsive throughout', async () => {
    // A hand-written TRUNCATE with change capture off leaves every cached row without its row.
    const stale = world.onCluster ? 20_000 : 200_000;
    const row = (id: number) => JSON.stringify({ id, phone: `1${String(id).padStart(10, '0')}`, nickname: 'gone', status: 1 });
    for (let from = 0; from < stale; from += 5000) {
      const ids = Array.from({ length: Math.min(5000, stale - from) }, (_, i) => 50_000_000 + from + i);
      await Promise.all(ids.map((id) => world.redis.set(`cache:appUsers:id:${id}`, row(id))));
    }
    let apiBytes = 0;
    const count = (res: Response) => {
      if (new URL(res.url()).pathname.startsWith('/admin/'))
        void res
          .body()
          .then((body) => (apiBytes += body.length))
          .catch(() => undefined);
    };
    await logIn(page, url, world.admin.phone, world.admin.password);
    page.on('response', count);
    try {
      await page.getByLabel('Scope', { exact: true }).first().selectOption('appUsers');
      expect(await page.getByLabel('repair (delete stale keys)').isChecked()).toBe(false);
      const started = Date.now();
      await page.getByRole('button', { name: 'Run audit' }).click();
      // Responsive while it runs: the main thread answers a frame within a second, every time asked.
      const frames: number[] = [];
      while (!(await page.getByText('Audit done.').isVisible())) {
        const asked = Date.now();
        await page.evaluate('new Promise((done) => requestAnimationFrame(done))');
        frames.push(Date.now() - asked);
        expect(Date.now() - started).toBeLessThan(15_000);
        await new Promise((r) => setTimeout(r, 200));
      }
      const total = stale.toLocaleString('en-US');
      // The stale keys and the few fresh ones earlier tests cached.
      expect(await page.locator('#audit-summary').innerText()).toMatch(new RegExp(`^Scanned [\\d,]+ key\\(s\\): ${total} stale, 0 unknown, 0 repaired\\.$`));
      // The totals count every stale key; the first 10,000 are kept for paging.
      const kept = `10,000 kept (the first found of ${total})`;
      expect(await page.locator('#stale-caption').innerText()).toBe(`Stale keys 1–50 of ${kept}`);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(Math.max(...frames)).toBeLessThan(1000);
      expect(await page.locator('#stale tbody tr').count()).toBe(50);
      expect(await page.locator('#audit-reasons').innerText()).toContain(`row_gone\t${total}`);

      await page.getByRole('button', { name: 'Next page' }).click();
      await page.getByText(`Stale keys 51–100 of ${kept}`).waitFor();
      expect(await page.locator('#stale tbody tr').count()).toBe(50);
      expect(await page.getByRole('button', { name: 'Previous page' }).isDisabled()).toBe(false);
      // The page never loaded more than it shows: kilobytes, where one answer of every entry was 18.8 MB.
      expect(apiBytes).toBeLessThan(500_000);
      await screenshot(page, 'admin-page-audit.png');

      await page.setViewportSize({ width: 390, height: 844 });
      await page.evaluate('window.scrollTo(0, 0)');
      await screenshot(page, 'admin-page-phone.png', false);
      await page.locator('#audit-title').scrollIntoViewIfNeeded();
      await screenshot(page, 'admin-page-phone-audit.png', false);
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    } finally {
      page.off('response', count);
      await page.setViewportSize({ width: 1100, height: 1300 });
    }
  });
});

describe('admin console: the coherence panel with change capture on', () => {
  let db: BinlogMariaDb;
  let world: TestWorld;
  let closeBrowser: () => Promise<void>;

  beforeAll(async () => {
    db = await startBinlogMariaDb();
    world = await TestWorld.create({ database: db });
  });
  afterAll(async () => {
    await closeBrowser?.();
    await world?.close();
    await db?.stop();
  });

  it("shows change capture leading, its lag and the outboxes draining; a hand-written change's invalidation counts", async () => {
    const { app, api, url } = await world.start({ CDC_MODE: 'binlog', CDC_HEARTBEAT_SECONDS: '1' });
    const user = await registerUser(api);
    await cdcSettled(app, world.sql);
    const browser = await launchChromium();
    closeBrowser = browser.close;
    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    await logIn(page, url.replace('[::1]', '127.0.0.1'), world.admin.phone, world.admin.password);

    const cdc = page.locator('#cdc');
    await eventually(
      'change capture leading with a lag',
      () => cdc.innerText(),
      (text) => /role\s+leader/.test(text) && /lag\s+\d+(\.\d+)? s/.test(text),
      10_000,
    );
    expect(await cdc.innerText()).toMatch(/mode\s+binlog[\s\S]*connected\s+yes[\s\S]*checkpoint saved\s+[\d.]+ s ago/);
    expect(await page.locator('#outbox').innerText()).toMatch(/invalidations pending\s+0/);

    await api.get('/me', user.token);
    const invalidated = async () => {
      await page.getByRole('button', { name: 'Refresh' }).click();
      await page.locator('#coherence-caption').waitFor();
      const cells = await page.locator('#cache-figures tbody tr', { hasText: 'appUsers' }).locator('td').allInnerTexts();
      return Number(cells[4].replace(/,/g, ''));
    };
    const before = await invalidated();
    await world.sql.query('UPDATE app_users SET nickname = ? WHERE id = ?', ['by hand', user.userId]);
    await eventually('the hand-written change invalidated, as counted in the panel', invalidated, (n) => n > before, 10_000);
    await screenshot(page, 'admin-page-cdc.png');
  });
});
