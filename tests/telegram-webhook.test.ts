import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { FakeTelegram } from './helpers/fake-telegram.js';
import { openTestServices } from './helpers/services.js';
import { startTestCrm, type TestCrm } from './helpers/crm.js';
import { waitFor } from './helpers/wait.js';
import type { Services } from '../core/services.js';

/**
 * TELEGRAM_MODE=webhook with Telegram unreachable: the web process serves at once (panel, API,
 * other webhooks), reports Telegram down, and connects it in the background when it comes back.
 */
const SECRET = 'webhook-secret-0123456789';
let tg: FakeTelegram;
let s: Services & { dataDir: string };
let crm: TestCrm;

before(async () => {
  tg = await new FakeTelegram().start();
  tg.offline = true;
  s = await openTestServices({
    TELEGRAM_BOT_TOKEN: '123456:TEST-token',
    TELEGRAM_API_ROOT: tg.url,
    TELEGRAM_MODE: 'webhook',
    TELEGRAM_WEBHOOK_SECRET: SECRET,
    PUBLIC_URL: 'https://crm.example.test',
  });
  // compose returns with Telegram unreachable: nothing waits for getMe
  crm = await startTestCrm(s, { worker: false, bots: false });
});

after(async () => {
  await crm?.close();
  await s?.close();
  await tg?.stop();
});

const health = async () => (await (await fetch(`${crm.base}/health`)).json()) as { status: string; channels: Record<string, string> };
const update = (text: string) => ({
  update_id: Math.floor(Math.random() * 1e9),
  message: { message_id: 1, date: 1, chat: { id: 777, type: 'private' }, from: { id: 777, is_bot: false, first_name: 'Клиент' }, text },
});
const postUpdate = (body: unknown) =>
  fetch(`${crm.base}/webhooks/telegram`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET }, body: JSON.stringify(body) });

test('while Telegram is unreachable the CRM serves and says Telegram is down; updates get 503 to be delivered again', async () => {
  assert.equal((await fetch(`${crm.base}/admin/login`)).status, 200, 'the panel answers');
  const h = await waitFor('Telegram reported down', async () => {
    const r = await health();
    return r.channels.telegram === 'down' ? r : null;
  });
  assert.equal(h.status, 'ok', 'the CRM itself is healthy');
  const early = await postUpdate(update('Алло'));
  assert.equal(early.status, 503);
  assert.ok(early.headers.get('retry-after'));
  // «Интеграции» shows why, from the state the monitor recorded
  const [state] = await s.database.rows<{ ok: boolean; detail: string }>(
    sql`SELECT ok, detail FROM channel_states WHERE channel = 'telegram'`,
  );
  assert.equal(state!.ok, false);
  assert.match(state!.detail, /нет связи с сервером Telegram/);
});

test('once Telegram answers, the webhook is registered and updates are handled', async () => {
  tg.offline = false;
  const hook = await tg.waitFor('setWebhook', () => true, { timeoutMs: 60_000 });
  assert.equal(hook.params.url, 'https://crm.example.test/webhooks/telegram');
  assert.equal(hook.params.secret_token, SECRET);
  await waitFor('Telegram reported up', async () => (await health()).channels.telegram === 'ok', 30_000);
  const since = tg.calls.length;
  const res = await postUpdate(update('Здравствуйте, есть вопрос'));
  assert.equal(res.status, 200);
  const ack = await tg.waitFor('sendMessage', (p) => p.chat_id === 777, { since });
  assert.match(String(ack.params.text), /Ваше сообщение получено/);
});
