import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { BrowserContext, chromium, Page } from 'playwright-core';
import { PASSWORD } from '../support/builders';
import { connectDevice, within } from '../support/device-socket';
import { registerUser, staffLogin } from '../support/flows';
import { Api } from '../support/http';
import { TestWorld } from '../support/test-app';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = resolve(__dirname, '../.artifacts/admin-page.png');
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

describe('cache admin page in headless Chromium', () => {
  let world: TestWorld;
  let api: Api;
  let url: string;
  let context: BrowserContext;
  let page: Page;
  let profile: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium); this test never downloads a browser`);
    }
    world = await TestWorld.create();
    ({ api, url } = await world.start());
    url = url.replace('[::1]', '127.0.0.1');
    profile = mkdtempSync(join(tmpdir(), 'hi-admin-page-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 1100, height: 1300 },
    });
    page = context.pages()[0] ?? (await context.newPage());
  });
  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await world?.close();
  });

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

    await page.goto(`${url}/admin-ui`);
    await page.getByLabel('Phone', { exact: true }).fill(world.admin.phone);
    await page.getByLabel('Password').fill(world.admin.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('#health dd').first().waitFor();
    expect(await page.locator('#health').innerText()).toMatch(/reachable\s+yes/);
    // Key counts arrive in a second request, after the health block is drawn.
    await page.locator('#counts tbody td').nth(3).waitFor();
    expect(await page.locator('#counts tbody td').count()).toBe(4);

    await page.getByLabel('Phone or id').fill(user.phone!);
    await page.getByRole('button', { name: 'Look up' }).click();
    const entries = page.locator('#entries');
    await entries.getByText(keys[0]).waitFor();
    await expect(entries.innerText()).resolves.toContain(keys[1]);

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

    mkdirSync(resolve(SCREENSHOT, '..'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    console.log(`admin page screenshot: ${SCREENSHOT}`);
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
    expect(await world.redis.exists('cache:appUsers:phone:13450000000')).toBe(1);
  });

  it('runs the audit and shows what it found', async () => {
    const user = await registerUser(api);
    await world.redis.set(`cache:appUsers:id:${user.userId}`, JSON.stringify({ id: user.userId, phone: user.phone, nickname: 'stale', status: 1 }));
    await page.getByRole('button', { name: 'Run audit' }).click();
    await page.getByText('Audit done.').waitFor();
    expect(await page.locator('#audit-summary').innerText()).toMatch(/Scanned \d+ key\(s\): [1-9]\d* stale/);
    expect(await page.locator('#stale').innerText()).toContain(`cache:appUsers:id:${user.userId}`);
  });

  it("shows a user's devices with their sessions and signs one out after confirming: the device is kicked", async () => {
    const user = await registerUser(api);
    const second = await api.post('/auth/login', { phone: user.phone, password: PASSWORD, identifier: `${user.identifier}-b` });
    const socket = await connectDevice(url, second.body.data.token);
    await page.getByLabel('Find by').selectOption('phone');
    await page.getByLabel('User id or phone').fill(user.phone!);
    await page.getByRole('button', { name: 'Show devices' }).click();
    await page.getByText(`User ${user.userId} (${user.phone}, active): 2 device(s), 2 signed in`).waitFor();
    const row = page.locator('#devices tbody tr', { hasText: `${user.identifier}-b` });
    await row.getByRole('button', { name: 'Sign out…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Sign out' }).click();
    await page.getByText(`Device ${user.identifier}-b of user ${user.userId} signed out.`).waitFor();
    expect(await within(socket.kicked, 2000, 'kicked')).toBe('kicked');
    await page.getByText(`User ${user.userId} (${user.phone}, active): 2 device(s), 1 signed in`).waitFor();
    expect(await row.getByRole('button', { name: 'Sign out…' }).isDisabled()).toBe(true);
    expect((await api.get('/me', user.token)).status).toBe(200);
  });
});
