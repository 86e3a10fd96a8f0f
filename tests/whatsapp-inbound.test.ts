import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  attachmentKindOfType,
  isClientMessage,
  locationText,
  mediaFileName,
  parseVCard,
  phoneFromJid,
  toInbound,
  vCardsOf,
  vCardText,
} from '../bots/whatsapp/inbound.js';
import type { WhatsAppMessageLike } from '../bots/whatsapp/client.js';

/** What a WhatsApp message becomes for the core, without a database: the pure mappings of bots/whatsapp/inbound.ts. */
const message = (m: Partial<Omit<WhatsAppMessageLike, 'id'>> & { id?: string } = {}): WhatsAppMessageLike => ({
  from: '79161234567@c.us',
  body: '',
  fromMe: false,
  timestamp: 1_750_000_000,
  type: 'chat',
  hasMedia: false,
  downloadMedia: async () => undefined,
  ...m,
  id: { _serialized: m.id ?? 'false_79161234567@c.us_X1' },
});

describe('who wrote', () => {
  test('a phone comes from a phone id only; a linked id (@lid) carries none', () => {
    assert.equal(phoneFromJid('79161234567@c.us'), '+79161234567');
    assert.equal(phoneFromJid('79161234567@s.whatsapp.net'), '+79161234567');
    assert.equal(phoneFromJid('250880524312345@lid'), undefined);
    assert.equal(phoneFromJid('120363025246125486@g.us'), undefined);
  });

  test('only what a client wrote to us is a client message', () => {
    assert.equal(isClientMessage(message()), true);
    assert.equal(isClientMessage(message({ from: '250880524312345@lid' })), true);
    assert.equal(isClientMessage(message({ fromMe: true })), false);
    assert.equal(isClientMessage(message({ from: '120363025246125486@g.us' })), false);
    assert.equal(isClientMessage(message({ from: 'status@broadcast' })), false);
    assert.equal(isClientMessage(message({ isStatus: true })), false);
    assert.equal(isClientMessage(message({ from: '120363111111111111@newsletter' })), false);
    for (const type of ['e2e_notification', 'call_log', 'revoked', 'notification_template']) assert.equal(isClientMessage(message({ type })), false, type);
  });

  test('a linked id gets the phone WhatsApp links it to, never its own digits', async () => {
    const lid = '250880524312345@lid';
    const getContact = async () => ({ number: '250880524312345', pushname: 'Мария' });
    const linked = await toInbound(message({ from: lid, getContact }), { phoneOfLinkedId: async (jid) => (jid === lid ? '+79161234567' : undefined) });
    assert.equal(linked.phone, '+79161234567');
    assert.equal(linked.name, 'Мария');
    assert.equal(linked.externalUserId, lid);
    assert.equal(linked.externalChatId, lid, 'replies go to the chat the client wrote from');

    assert.equal((await toInbound(message({ from: lid, getContact }))).phone, undefined);
    assert.equal((await toInbound(message({ from: lid, getContact }), { phoneOfLinkedId: async () => Promise.reject(new Error('page closed')) })).phone, undefined);
    assert.equal((await toInbound(message())).phone, '+79161234567');
  });
});

describe('a location', () => {
  test('is a Yandex Maps link with the place, longitude first', () => {
    assert.equal(
      locationText({ latitude: 55.753544, longitude: 37.621202, name: 'Красная площадь', address: 'Москва' }),
      '📍 Геопозиция: Красная площадь, Москва https://yandex.ru/maps/?pt=37.621202,55.753544&z=16&l=map',
    );
    assert.equal(locationText({ latitude: -33.8568, longitude: 151.2153 }), '📍 Геопозиция: https://yandex.ru/maps/?pt=151.2153,-33.8568&z=16&l=map');
    // whatsapp-web.js's typings say strings; tiny values are never written as 1e-7
    assert.equal(locationText({ latitude: '0.0000001', longitude: '12.1234567891', address: ' Склад ' }), '📍 Геопозиция: Склад https://yandex.ru/maps/?pt=12.123457,0&z=16&l=map');
    assert.equal(locationText({ latitude: Number.NaN, longitude: 1 }), '📍 Геопозиция (без координат)');
  });

  test('its body (a base64 thumbnail) never becomes the text', async () => {
    const m = await toInbound(message({ type: 'location', body: '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgMCAgMDAwMEAw', location: { latitude: 59.9386, longitude: 30.3141 } }));
    assert.equal(m.text, '📍 Геопозиция: https://yandex.ru/maps/?pt=30.3141,59.9386&z=16&l=map');
    assert.equal(m.attachments, undefined);
  });
});

describe('a shared contact (vCard)', () => {
  const ivan = 'BEGIN:VCARD\r\nVERSION:3.0\r\nN:Петров;Иван;;;\r\nFN:Иван Петров\r\nitem1.TEL;waid=79035550102:+7 903 555-01-02\r\nitem1.X-ABLabel:Мобильный\r\nEND:VCARD';

  test('gives the name and the phones as people read them', () => {
    assert.deepEqual(parseVCard(ivan), { name: 'Иван Петров', phones: ['+7 903 555 01 02'] });
    // folded lines, escapes, a name only in N, a Russian 8-number, a number that is not one, a repeat
    const odd = 'BEGIN:VCARD\nVERSION:3.0\nN:Сидорова;Анна;Петровна;;\nTEL;TYPE=CELL:8 (916) 123-45-\n 67\nTEL:+79161234567\nTEL:доб. 123\nNOTE:Склад\\, Москва\nEND:VCARD';
    assert.deepEqual(parseVCard(odd), { name: 'Анна Петровна Сидорова', phones: ['+7 916 123 45 67', 'доб. 123'] });
    assert.deepEqual(parseVCard('BEGIN:VCARD\nFN:Склад\\, Москва\\; офис\nEND:VCARD'), { name: 'Склад, Москва; офис', phones: [] });
  });

  test('one line a card', () => {
    const anna = 'BEGIN:VCARD\nVERSION:3.0\nFN:Анна\nTEL;waid=79161234567:+7 916 123-45-67\nTEL;waid=442079460958:+44 20 7946 0958\nEND:VCARD';
    assert.equal(vCardText([ivan, anna]), '📇 Контакт: Иван Петров, +7 903 555 01 02\n📇 Контакт: Анна, +7 916 123 45 67, +44 20 7946 0958');
    assert.equal(vCardText(['BEGIN:VCARD\nEND:VCARD']), '📇 Контакт');
  });

  test('cards come from vCards, or a vcard body; other messages have none', () => {
    assert.deepEqual(vCardsOf({ type: 'vcard', body: ivan, vCards: [ivan] }), [ivan]);
    assert.deepEqual(vCardsOf({ type: 'vcard', body: ivan }), [ivan]);
    assert.deepEqual(vCardsOf({ type: 'multi_vcard', body: '2 контакта', vCards: [ivan, ivan] }), [ivan, ivan]);
    assert.deepEqual(vCardsOf({ type: 'chat', body: ivan }), []);
  });

  test('is stored as its text, with the card as a file', async () => {
    const m = await toInbound(message({ type: 'vcard', body: ivan, vCards: [ivan] }));
    assert.equal(m.text, '📇 Контакт: Иван Петров, +7 903 555 01 02');
    assert.equal(m.phone, '+79161234567', 'the sender\'s phone, not the shared one');
    assert.deepEqual(m.attachments, [{ name: 'contact.vcf', mime: 'text/vcard', kind: 'document', data: Buffer.from(ivan) }]);
    const many = await toInbound(message({ type: 'multi_vcard', body: '', vCards: [ivan, ivan] }));
    assert.equal(many.attachments?.[0]?.name, 'contacts.vcf');
    assert.equal(many.attachments?.[0]?.data.toString(), `${ivan}\r\n${ivan}`);
  });
});

describe('media', () => {
  test('the message type says what a file is', () => {
    assert.equal(attachmentKindOfType('ptt', 'audio/ogg; codecs=opus'), 'voice');
    assert.equal(attachmentKindOfType('audio', 'audio/ogg; codecs=opus'), 'audio');
    assert.equal(attachmentKindOfType('video', 'video/mp4'), 'video');
    assert.equal(attachmentKindOfType('ptv', 'video/mp4'), 'video_note');
    assert.equal(attachmentKindOfType('image', 'image/webp'), 'photo');
    assert.equal(attachmentKindOfType('sticker', 'image/webp'), 'sticker');
    assert.equal(attachmentKindOfType('document', 'image/jpeg'), 'document');
    // a type we do not know: the file's own type decides
    assert.equal(attachmentKindOfType('album', 'image/jpeg'), 'photo');
  });

  test('files WhatsApp sends without a name get one', () => {
    assert.equal(mediaFileName('voice', 'audio/ogg; codecs=opus'), 'voice.ogg');
    assert.equal(mediaFileName('photo', 'image/jpeg', null), 'photo.jpeg');
    assert.equal(mediaFileName('audio', 'audio/mpeg'), 'audio.mp3');
    assert.equal(mediaFileName('document', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'договор.docx'), 'договор.docx');
    assert.equal(mediaFileName('document', 'application/vnd.ms-excel'), 'document.bin');
  });

  test('a voice note is kept as a voice file; a caption is the text; a lost download is said', async () => {
    const voice = await toInbound(message({ type: 'ptt', hasMedia: true, downloadMedia: async () => ({ mimetype: 'audio/ogg; codecs=opus', data: Buffer.from('OggS').toString('base64') }) }));
    assert.deepEqual(voice.attachments, [{ name: 'voice.ogg', mime: 'audio/ogg; codecs=opus', kind: 'voice', data: Buffer.from('OggS') }]);
    assert.equal(voice.text, undefined);
    const photo = await toInbound(message({ type: 'image', body: 'Такой?', hasMedia: true, downloadMedia: async () => ({ mimetype: 'image/jpeg', data: 'AAAA', filename: null }) }));
    assert.equal(photo.text, 'Такой?');
    assert.equal(photo.attachments?.[0]?.kind, 'photo');
    const lost = await toInbound(message({ type: 'video', body: 'Видео', hasMedia: true, downloadMedia: async () => Promise.reject(new Error('media expired')) }));
    assert.equal(lost.text, 'Видео\n[файл не удалось загрузить]');
    assert.equal(lost.attachments, undefined);
  });
});

test('a NUL byte or a broken surrogate passes through untouched (the core cleans it)', async () => {
  const m = await toInbound(message({ body: 'a\u0000b\ud800', getContact: async () => ({ pushname: 'Оль\u0000га\udc00' }) }));
  assert.equal(m.text, 'a\u0000b\ud800');
  assert.equal(m.name, 'Оль\u0000га\udc00');
  const card = 'BEGIN:VCARD\nFN:Пётр\u0000\udfff\nTEL:+7 903\u0000 555-01-03\udfff\nEND:VCARD';
  assert.equal((await toInbound(message({ type: 'vcard', body: card }))).text, '📇 Контакт: Пётр\u0000\udfff, +7 903 555 01 03');
  assert.match((await toInbound(message({ type: 'location', location: { latitude: 1, longitude: 2, name: '\ud800' } }))).text!, /^📍 Геопозиция: \ud800 https/);
});
