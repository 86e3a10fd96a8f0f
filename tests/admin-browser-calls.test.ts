import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { openAdminApp, openBrowser, screenshot, signIn, type AdminApp, type BrowserSession } from './helpers/browser.js';
import { randomInn } from './helpers/world.js';
import { waitFor } from './helpers/wait.js';
import { createCounterparty } from '../core/counterparties/counterparties.js';
import { createContact } from '../core/contacts/contacts.js';
import { createLine } from '../core/telephony/lines.js';
import { createCallRule } from '../core/telephony/rules.js';
import { recordCallEvent } from '../core/telephony/calls.js';
import type { CallEvent } from '../core/telephony/types.js';
import type { User } from '../core/users/users.js';

/**
 * The live incoming-call window and «Звонки» in headless Chromium against the real app: a call
 * rings → the window shows in the lower right of the page the manager has open, «Принять» takes
 * it, all within the strict CSP; the recording loads in the list's player; a phone's width fits.
 */
let a: AdminApp;
let b: BrowserSession;
let anna: User;
let ivanId: number;
let seq = 0;

const OFFICE = '+74950003333';
const IVAN = '+79163334455';
const ring = (at = new Date()) =>
  recordCallEvent(a.world.system, { provider: 'mango', callKey: `browser-${++seq}`, kind: 'ringing', at, direction: 'in', clientNumber: IVAN, lineNumber: OFFICE } satisfies CallEvent);

/** One second of silence as an 8 kHz 8-bit WAV: something a browser really decodes. */
function silentWav(): Buffer {
  const samples = 8000;
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + samples, 4);
  h.write('WAVEfmt ', 8);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(8000, 24);
  h.writeUInt32LE(8000, 28);
  h.writeUInt16LE(1, 32);
  h.writeUInt16LE(8, 34);
  h.write('data', 36);
  h.writeUInt32LE(samples, 40);
  return Buffer.concat([h, Buffer.alloc(samples, 128)]);
}

before(async () => {
  a = await openAdminApp({ admin: { loginRateLimit: { max: 1000, timeWindowMs: 60_000 } } });
  const seg = await a.world.segment('Звонки');
  const admin = await a.world.user('admin', { name: 'Ольга Админова' });
  anna = await a.world.user('manager', { name: 'Анна Звонкова', segments: [seg] });
  await createLine(a.world.as(admin), { provider: 'mango', number: OFFICE, name: 'Офис' });
  await createCallRule(a.world.as(admin), { name: 'Ответственному', target: 'responsible' });
  const cp = await createCounterparty(a.world.system, { kind: 'legal_entity', name: 'ООО Звонкий Опт', inn: randomInn('legal_entity'), segmentId: seg, responsibleId: anna.id });
  ivanId = (await createContact(a.world.system, { name: 'Иван Звонарёв', phones: [IVAN], counterpartyId: cp.id })).id;

  // yesterday's answered call with its recording stored, as the recordings job leaves it
  const { callId } = await ring(new Date(Date.now() - 86_400_000));
  await recordCallEvent(a.world.system, { provider: 'mango', callKey: `browser-${seq}`, kind: 'ended', at: new Date(), result: 'answered', durationSec: 65 });
  const rel = path.join('recordings', 'test', `call-${callId}.wav`);
  mkdirSync(path.join(a.services.config.DATA_DIR, 'recordings', 'test'), { recursive: true });
  writeFileSync(path.join(a.services.config.DATA_DIR, rel), silentWav());
  await a.world.database.db.execute(sql`UPDATE calls SET recording_status = 'stored', recording_path = ${rel}, recording_mime = 'audio/wav' WHERE id = ${callId}`);
  b = await openBrowser();
});
after(async () => {
  await b?.close();
  await a?.close();
});

test('a ringing call opens the window on the manager’s page; «Принять» takes it; the recording plays; no CSP violation; fits 390 px', async () => {
  const { page, context } = await b.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  await page.addInitScript(`document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI))`);
  await signIn(page, a.url, anna.email, 'password123');

  // the stream is open once its answer arrives; then the call rings
  const streamOpen = page.waitForResponse((r) => r.url().endsWith('/admin/calls/live'));
  await page.goto(`${a.url}/admin/contacts/${ivanId}`);
  assert.equal((await streamOpen).headers()['content-type'], 'text/event-stream; charset=utf-8');
  const { callId } = await ring();
  const item = page.locator(`#call-live .call-live-item[data-call-id="${callId}"]`);
  await item.waitFor({ state: 'visible' });
  const text = await item.innerText();
  for (const s of ['Входящий звонок', 'Иван Звонарёв', '+7 916 333 44 55', 'ООО Звонкий Опт', 'Офис', 'Звонит вам']) assert.ok(text.includes(s), `${s} in ${text}`);
  assert.equal(await item.locator(`a[href="/admin/contacts/${ivanId}"]`).count(), 1, 'a link to the contact card');
  const box = (await page.locator('#call-live').boundingBox())!;
  const view = page.viewportSize()!;
  assert.ok(box.x + box.width > view.width - 40 && box.y + box.height > view.height - 40, 'in the lower right');
  await screenshot(page, 'call-live-ringing');

  await item.locator('button:has-text("Принять")').click();
  await item.locator('[data-state=mine]').waitFor();
  assert.match(await item.innerText(), /Вы приняли звонок/);
  const [row] = await a.world.database.rows<{ claimed_at: Date | null; user_id: number }>(sql`SELECT claimed_at, user_id FROM calls WHERE id = ${callId}`);
  assert.ok(row!.claimed_at, 'claimed in the CRM');
  assert.equal(Number(row!.user_id), anna.id);
  await item.locator('button:has-text("Скрыть")').click();
  await page.locator('#call-live').waitFor({ state: 'hidden' });

  // «Звонки»: the stored recording loads in the player
  await page.goto(`${a.url}/admin/calls`);
  const audio = page.locator('table.calls audio').first();
  assert.equal(await audio.getAttribute('preload'), 'none');
  // what a click on play starts: the browser asks for the file and reads its length
  await page.evaluate(`(() => { const el = document.querySelector('table.calls audio'); el.preload = 'metadata'; el.load(); })()`);
  await waitFor('the recording’s metadata', () => page.evaluate(`(() => { const el = document.querySelector('table.calls audio'); return el.readyState > 0 && Number.isFinite(el.duration); })()`), 15_000, 100);
  const duration = (await page.evaluate(`document.querySelector('table.calls audio').duration`)) as number;
  assert.ok(Math.abs(duration - 1) < 0.1, `one second long: ${duration}`);

  // a phone's width: the list and a ringing window fit without sideways scrolling
  await page.setViewportSize({ width: 390, height: 844 });
  await page.reload();
  await page.waitForLoadState('load');
  await screenshot(page, 'calls-list-390');
  const second = await ring();
  await page.locator(`#call-live .call-live-item[data-call-id="${second.callId}"]`).waitFor({ state: 'visible' });
  const widths = (await page.evaluate(`({ doc: document.documentElement.scrollWidth, win: window.innerWidth, live: document.getElementById('call-live').getBoundingClientRect().right })`)) as { doc: number; win: number; live: number };
  assert.ok(widths.doc <= widths.win, `no sideways scroll at 390 px: ${JSON.stringify(widths)}`);
  assert.ok(widths.live <= widths.win, 'the window fits');
  await screenshot(page, 'calls-390');

  assert.deepEqual(problems, [], 'no console errors or CSP violations');
  await context.close();
});
