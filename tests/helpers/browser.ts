import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { loadConfig } from '../../core/config.js';
import { openServices, type Services } from '../../core/services.js';
import { registerImportJobs } from '../../core/imports/jobs.js';
import type { AdminOptions } from '../../admin/types.js';
import { buildApp } from '../../api/app.js';
import { openWorld, type World } from './world.js';

export const CHROMIUM = '/usr/bin/chromium';
const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export interface AdminApp {
  world: World;
  services: Services;
  app: FastifyInstance;
  /** http://127.0.0.1:PORT */
  url: string;
  /** runs queued jobs (the worker role), for imports that go to the queue */
  startWorker(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The real app (`buildApp`) on a fresh test database, listening on a free loopback port, the way
 * `npm start` serves it. Import jobs are registered on the queue; `startWorker` begins running them.
 */
export async function openAdminApp(opts: { admin?: Omit<AdminOptions, 'services'>; env?: Record<string, string> } = {}): Promise<AdminApp> {
  const world = await openWorld();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'crm-admin-'));
  const config = loadConfig({ DATA_DIR: dataDir, SECRET_KEY: 'test-secret-key-test-secret-key-0123456789', LOG_LEVEL: 'silent', ...opts.env });
  const jobs = world.ctx().jobs;
  const services = await openServices(config, pino({ level: 'silent' }), { database: world.database, jobs, clock: world.clock, migrate: false });
  registerImportJobs(jobs, (actor) => services.ctx(actor));
  const app = await buildApp(services, opts.admin ? { admin: opts.admin } : {});
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address() as { port: number };
  return {
    world,
    services,
    app,
    url: `http://127.0.0.1:${address.port}`,
    startWorker: () => jobs.start(),
    async close() {
      await app.close();
      await world.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface BrowserSession {
  browser: Browser;
  /** a fresh browser profile (own cookies) */
  newPage(opts?: { width?: number; height?: number }): Promise<{ context: BrowserContext; page: Page }>;
  close(): Promise<void>;
}

/** Debian's chromium driven by playwright-core; no browser is ever downloaded. */
export async function openBrowser(): Promise<BrowserSession> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: chromiumArgs, headless: true });
  return {
    browser,
    async newPage(o = {}) {
      const context = await browser.newContext({ acceptDownloads: true, locale: 'ru-RU', viewport: { width: o.width ?? 1280, height: o.height ?? 900 } });
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      return { context, page };
    },
    close: () => browser.close(),
  };
}

/** Signs in through the login form and waits for the panel. */
export async function signIn(page: Page, baseUrl: string, email: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/admin/login`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL((u) => !u.pathname.endsWith('/login')), page.click('button[type=submit]')]);
}

/** A PNG of the page, for a person to look at (kept in SCREENSHOT_DIR when set). */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env.SCREENSHOT_DIR;
  if (!dir) return;
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}
