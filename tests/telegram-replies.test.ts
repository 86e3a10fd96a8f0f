import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { FakeTelegram, type ApiCall } from './helpers/fake-telegram.js';
import { openTestServices } from './helpers/services.js';
import { startTestCrm, type TestCrm } from './helpers/crm.js';
import { waitFor } from './helpers/wait.js';
import type { Services } from '../core/services.js';
import { formatPhone } from '../core/validation/phone.js';
import { createLinkCode, createUser, type User } from '../core/users/users.js';

/**
 * Which client a manager's answer reaches, and what kinds of messages travel between them:
 * the real bot (composed as main.ts does) over HTTP against a fake Bot API, real database and queue.
 */
const ANNA = 3101;
const MARIA = 4101;
const PETR = 4102;
const OLGA = 4103;
const IVAN = 4104;

let tg: FakeTelegram;
let s: Services & { dataDir: string };
let crm: TestCrm;
let anna: User;

const rows = <T>(q: ReturnType<typeof sql>) => s.database.rows<T>(q);

before(async () => {
  tg = await new FakeTelegram().start();
  s = await openTestServices({ TELEGRAM_BOT_TOKEN: '123456:TEST-token', TELEGRAM_API_ROOT: tg.url });
  anna = await createUser(s.ctx(), { email: 'anna@replies.test', name: 'Анна', role: 'manager' });
  crm = await startTestCrm(s, {}, { skipWorkerJobs: ['mail'] });
  const { code } = await createLinkCode(s.ctx(), anna.id);
  await tg.ask(ANNA, `/start ${code}`);
});

after(async () => {
  await crm?.close();
  await s?.close();
  await tg?.stop();
});

/** A client writes; resolves with Анна's notification once a reply to it is known to reach the client. */
async function clientWrites(clientId: number, text: string, name: string): Promise<ApiCall> {
  const since = tg.calls.length;
  tg.send(clientId, { text }, name);
  const notice = await tg.waitFor('sendMessage', (p) => p.chat_id === ANNA && String(p.text).includes(text), { since, timeoutMs: 15_000 });
  const id = Number(notice.result!.message_id);
  await waitFor('the reply target', async () => (await rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM telegram_reply_targets WHERE message_id = ${id}`))[0]!.n === 1);
  return notice;
}

const replyTo = (notice: ApiCall) => ({ message_id: Number(notice.result!.message_id), date: 1, chat: { id: ANNA, type: 'private' }, text: 'x' });
const sentTo = (chatId: number, since: number) => tg.calls.slice(since).filter((c) => c.method.startsWith('send') && c.params.chat_id === chatId);

describe('a manager answers the right client', () => {
  let maria: ApiCall;
  let petr: ApiCall;

  test('a Telegram reply to client B goes to B, even while «Ответить» waits for client A', async () => {
    maria = await clientWrites(MARIA, 'Мария: нужен счёт', 'Мария');
    petr = await clientWrites(PETR, 'Пётр: когда доставка?', 'Пётр');
    const conversationA = Number(String((maria.params.reply_markup as { inline_keyboard: { callback_data: string }[][] }).inline_keyboard[0]![0]!.callback_data).split(':')[1]);
    await tg.pressAndWait(ANNA, `reply:${conversationA}`);
    const since = tg.calls.length;
    tg.send(ANNA, { text: 'Пётр, доставка завтра', reply_to_message: replyTo(petr) });
    await tg.waitFor('sendMessage', (p) => p.chat_id === PETR && p.text === 'Пётр, доставка завтра', { since, timeoutMs: 10_000 });
    // the explicit reply also cancelled the pending «Ответить» for Мария
    const next = await tg.ask(ANNA, 'просто текст');
    assert.match(String(next.params.text), /Не понял/);
    assert.equal(sentTo(MARIA, since).length, 0, 'nothing went to Мария');
  });

  test('another command cancels a pending «Ответить»', async () => {
    const conversationA = Number(String((maria.params.reply_markup as { inline_keyboard: { callback_data: string }[][] }).inline_keyboard[0]![0]!.callback_data).split(':')[1]);
    await tg.pressAndWait(ANNA, `reply:${conversationA}`);
    const since = tg.calls.length;
    await tg.ask(ANNA, '/leads');
    const next = await tg.ask(ANNA, 'это не для клиента');
    assert.match(String(next.params.text), /Не понял/);
    assert.equal(sentTo(MARIA, since).length, 0);
  });

  test('a pending «Ответить» expires after a few minutes', async () => {
    const conversationA = Number(String((maria.params.reply_markup as { inline_keyboard: { callback_data: string }[][] }).inline_keyboard[0]![0]!.callback_data).split(':')[1]);
    await tg.pressAndWait(ANNA, `reply:${conversationA}`);
    await waitFor('the pending reply', async () => (await rows<{ k: string }>(sql`SELECT data->'flow'->>'kind' AS k FROM telegram_sessions WHERE chat_id = ${ANNA}`))[0]?.k === 'reply');
    // the button was pressed ten minutes ago
    await rows(sql`UPDATE telegram_sessions SET data = jsonb_set(data, '{flow,at}', to_jsonb(${new Date(Date.now() - 10 * 60_000).toISOString()}::text)) WHERE chat_id = ${ANNA}`);
    const since = tg.calls.length;
    const answer = await tg.ask(ANNA, 'Мария, счёт готов');
    assert.match(String(answer.params.text), /не отправлен.*5 минут/s);
    assert.equal(sentTo(MARIA, since).length, 0);
  });

  test('while /newlead asks its questions, a reply to a client notification goes to the client and the dialogue goes on', async () => {
    assert.match(String((await tg.ask(ANNA, '/newlead')).params.text), /Как зовут клиента/);
    const since = tg.calls.length;
    tg.send(ANNA, { text: 'Мария, счёт отправлю сегодня', reply_to_message: replyTo(maria) });
    await tg.waitFor('sendMessage', (p) => p.chat_id === MARIA && p.text === 'Мария, счёт отправлю сегодня', { since, timeoutMs: 10_000 });
    assert.match(String((await tg.ask(ANNA, 'Сергей Новиков')).params.text), /Телефон клиента/);
    await tg.ask(ANNA, '/cancel');
  });
});

describe('every kind of client message is kept and reaches the manager', () => {
  test('a voice note, a video note and a sticker are stored as files and forwarded as what they are', async () => {
    tg.files.set('voice-1', Buffer.from('OGG-VOICE'));
    tg.files.set('round-1', Buffer.from('MP4-ROUND'));
    tg.files.set('sticker-1', Buffer.from('WEBP-STICKER'));
    const since = tg.calls.length;
    tg.send(OLGA, { voice: { file_id: 'voice-1', file_unique_id: 'v1', duration: 3, mime_type: 'audio/ogg', file_size: 9 } }, 'Ольга');
    tg.send(OLGA, { video_note: { file_id: 'round-1', file_unique_id: 'r1', length: 240, duration: 2, file_size: 9 } }, 'Ольга');
    tg.send(OLGA, { sticker: { file_id: 'sticker-1', file_unique_id: 's1', type: 'regular', width: 512, height: 512, is_animated: false, is_video: false, emoji: '👍', file_size: 12 } }, 'Ольга');
    const stored = await waitFor('three stored messages', async () => {
      const r = await rows<{ text: string | null; attachments: { path: string; kind: string; mime: string }[] }>(
        sql`SELECT m.text, m.attachments FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE c.external_chat_id = ${String(OLGA)} ORDER BY m.id`,
      );
      return r.length === 3 ? r : null;
    });
    assert.deepEqual(stored.map((m) => m.attachments[0]!.kind), ['voice', 'video_note', 'sticker']);
    assert.equal(readFileSync(path.join(s.dataDir, 'attachments', stored[0]!.attachments[0]!.path)).toString(), 'OGG-VOICE');
    assert.match(String(stored[2]!.text), /стикер 👍/);
    // forwarded to Анна as a voice note, a video note and a sticker, in reply to their notifications
    const voice = await tg.waitFor('sendVoice', (p) => p.chat_id === ANNA, { since, timeoutMs: 15_000 });
    assert.equal((voice.params.voice as { data: Buffer }).data.toString(), 'OGG-VOICE');
    await tg.waitFor('sendVideoNote', (p) => p.chat_id === ANNA, { since, timeoutMs: 15_000 });
    await tg.waitFor('sendSticker', (p) => p.chat_id === ANNA, { since, timeoutMs: 15_000 });
    // the client is not told «Пока я понимаю текст…»
    assert.ok(!tg.calls.slice(since).some((c) => c.params.chat_id === OLGA && /понимаю текст/.test(String(c.params.text))));
  });

  test('a location becomes a map link and a shared vCard its phone', async () => {
    tg.send(IVAN, { location: { latitude: 55.751244, longitude: 37.618423 } }, 'Иван');
    tg.send(IVAN, { contact: { phone_number: '+79161112233', first_name: 'Сергей', vcard: 'BEGIN:VCARD\nVERSION:3.0\nFN:Сергей\nTEL;TYPE=CELL:+7 916 111-22-33\nTEL;TYPE=WORK:8 (495) 123-45-67\nEND:VCARD' } }, 'Иван');
    const texts = await waitFor('both stored', async () => {
      const r = await rows<{ text: string }>(sql`SELECT m.text FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE c.external_chat_id = ${String(IVAN)} ORDER BY m.id`);
      return r.length === 2 ? r.map((x) => x.text) : null;
    });
    assert.match(texts[0]!, /https:\/\/yandex\.ru\/maps\/\?pt=37\.618423,55\.751244/);
    assert.match(texts[1]!, /Сергей/);
    assert.ok(texts[1]!.includes(formatPhone('+79161112233')), texts[1]);
    assert.ok(texts[1]!.includes(formatPhone('+74951234567')), texts[1]);
    // someone else's card is information, not the sender's own phone
    const [ivan] = await rows<{ phones: string[] }>(sql`SELECT phones FROM contacts WHERE name = 'Иван'`);
    assert.deepEqual(ivan!.phones, []);
  });

  test('a NUL byte or a broken surrogate in a message is cleaned and the message stored', async () => {
    tg.send(IVAN, { text: 'цена\u0000 за \ud83d штуку' }, 'Иван');
    const [m] = await waitFor('the message', async () => {
      const r = await rows<{ text: string }>(sql`SELECT text FROM messages WHERE text LIKE 'цена%'`);
      return r.length ? r : null;
    });
    assert.equal(m!.text, 'цена за \ufffd штуку');
  });
});

describe('a manager sends files to a client', () => {
  test('a photo, a document and a voice note sent as replies reach the client as what they are', async () => {
    const notice = await clientWrites(PETR, 'Пётр: пришлите фото товара', 'Пётр');
    tg.files.set('mgr-photo', Buffer.from('JPEG-FROM-ANNA'));
    tg.files.set('mgr-doc', Buffer.from('%PDF-price'));
    tg.files.set('mgr-voice', Buffer.from('OGG-FROM-ANNA'));
    const since = tg.calls.length;
    tg.send(ANNA, { photo: [{ file_id: 'mgr-photo', file_unique_id: 'mp', width: 800, height: 600, file_size: 14 }], caption: 'Вот товар', reply_to_message: replyTo(notice) });
    tg.send(ANNA, { document: { file_id: 'mgr-doc', file_unique_id: 'md', file_name: 'прайс.pdf', mime_type: 'application/pdf', file_size: 10 }, reply_to_message: replyTo(notice) });
    tg.send(ANNA, { voice: { file_id: 'mgr-voice', file_unique_id: 'mv', duration: 2, mime_type: 'audio/ogg', file_size: 13 }, reply_to_message: replyTo(notice) });
    const photo = await tg.waitFor('sendPhoto', (p) => p.chat_id === PETR, { since, timeoutMs: 15_000 });
    assert.equal((photo.params.photo as { data: Buffer }).data.toString(), 'JPEG-FROM-ANNA');
    assert.equal(photo.params.caption, 'Вот товар');
    const doc = await tg.waitFor('sendDocument', (p) => p.chat_id === PETR, { since, timeoutMs: 15_000 });
    assert.equal((doc.params.document as { name: string }).name, 'прайс.pdf');
    const voice = await tg.waitFor('sendVoice', (p) => p.chat_id === PETR, { since, timeoutMs: 15_000 });
    assert.equal((voice.params.voice as { data: Buffer }).data.toString(), 'OGG-FROM-ANNA');
    const out = await waitFor('three sent messages', async () => {
      const r = await rows<{ delivery_status: string; attachments: { kind: string }[] }>(
        sql`SELECT delivery_status, attachments FROM messages WHERE direction = 'out' AND jsonb_array_length(attachments) > 0 ORDER BY id`,
      );
      return r.length === 3 && r.every((m) => m.delivery_status === 'sent') ? r : null;
    });
    assert.deepEqual(out.map((m) => m.attachments[0]!.kind), ['photo', 'document', 'voice']);
  });

  test('a file with nowhere to go gets a hint instead of silence', async () => {
    tg.files.set('stray', Buffer.from('x'));
    const since = tg.calls.length;
    tg.send(ANNA, { document: { file_id: 'stray', file_unique_id: 'st', file_name: 'a.txt', file_size: 1 } });
    const hint = await tg.waitFor('sendMessage', (p) => p.chat_id === ANNA && /ответьте им на уведомление клиента/.test(String(p.text)), { since });
    assert.ok(hint);
  });
});
