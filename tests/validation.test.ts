import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isValidInn, isValidOgrn } from '../core/validation/russian-ids.js';
import { normalizePhone } from '../core/validation/phone.js';
import { formatKopecks, parseRoubles } from '../core/validation/money.js';
import { formatInZone, startOfDayInZone } from '../core/validation/time.js';
import { loadConfig } from '../core/config.js';

test('INN checksums: real organisation and person numbers pass, one wrong digit fails', () => {
  assert.equal(isValidInn('7707083893'), true); // ПАО Сбербанк
  assert.equal(isValidInn('7736207543'), true); // ООО «Яндекс»
  assert.equal(isValidInn('500100732259'), true);
  assert.equal(isValidInn('7707083894'), false);
  assert.equal(isValidInn('500100732258'), false);
  assert.equal(isValidInn('77070838'), false);
  assert.equal(isValidInn('77070838ab'), false);
});

test('OGRN and OGRNIP checksums', () => {
  assert.equal(isValidOgrn('1027700132195'), true); // ПАО Сбербанк
  assert.equal(isValidOgrn('1027700229193'), true); // ООО «Яндекс»
  assert.equal(isValidOgrn('304500116000157'), true); // ОГРНИП
  assert.equal(isValidOgrn('1027700132196'), false);
  assert.equal(isValidOgrn('304500116000158'), false);
  assert.equal(isValidOgrn('12345'), false);
});

test('Russian phones written any way meet as one E.164 number', () => {
  const forms = ['8 (916) 123-45-67', '+7 916 123 45 67', '79161234567', '8-916-123-45-67', '9161234567', '+7(916)1234567', ' 8 916 1234567 '];
  for (const f of forms) assert.equal(normalizePhone(f), '+79161234567', f);
  assert.equal(normalizePhone('8 (495) 123-45-67'), '+74951234567');
  assert.equal(normalizePhone('+375 29 123-45-67'), '+375291234567');
  assert.equal(normalizePhone('12345'), null);
  assert.equal(normalizePhone('не телефон'), null);
});

test('money is parsed exactly into kopecks, never through floats', () => {
  assert.equal(parseRoubles('1 234 567,89'), 123456789n);
  assert.equal(parseRoubles('0.1'), 10n);
  assert.equal(parseRoubles('10'), 1000n);
  assert.equal(parseRoubles('99999999999999.99'), 9999999999999999n);
  assert.equal(parseRoubles('1,234'), null);
  assert.equal(parseRoubles('abc'), null);
  assert.equal(formatKopecks(123456789n), '1\u00a0234\u00a0567,89 ₽');
});

test('times are shown in the user time zone', () => {
  assert.equal(formatInZone(new Date('2026-11-26T21:30:00Z')), '27.11.2026, 00:30');
  assert.equal(formatInZone(new Date('2026-11-26T21:30:00Z'), 'Asia/Novosibirsk'), '27.11.2026, 04:30');
  assert.equal(startOfDayInZone('2026-11-27').toISOString(), '2026-11-26T21:00:00.000Z');
});

test('config: defaults, and a bad value stops with one line naming the variable', () => {
  const c = loadConfig({});
  assert.equal(c.PORT, 3000);
  assert.equal(c.HOST, '127.0.0.1');
  assert.equal(c.DATA_DIR, './data');
  assert.equal(c.TELEGRAM_MODE, 'polling');
  assert.throws(() => loadConfig({ PORT: 'abc' }), /^Error: Invalid PORT: /);
  assert.throws(() => loadConfig({ DATABASE_URL: 'mysql://x' }), (e: Error) => e.message.startsWith('Invalid DATABASE_URL') && !e.message.includes('\n'));
  assert.throws(() => loadConfig({ TELEGRAM_MODE: 'push' }), /Invalid TELEGRAM_MODE/);
  assert.equal(loadConfig({ PORT: '', WHATSAPP_ENABLED: 'true' }).WHATSAPP_ENABLED, true);
});
