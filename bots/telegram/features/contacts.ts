import { Composer } from 'grammy';
import type { BotContext, Flow } from '../context.js';
import { contactCard } from '../cards.js';
import { esc, html, phone } from '../format.js';
import { parseId } from '../ids.js';
import { getContact, updateContact } from '../../../core/contacts/contacts.js';
import { normalizePhone } from '../../../core/validation/phone.js';
import { normalizeEmail } from '../../../core/validation/email.js';

/** A contact's card and fixing its name, phone and e-mail from Telegram. */
export const contacts = new Composer<BotContext>();

async function sendContact(ctx: BotContext, id: number) {
  const card = await contactCard(ctx, id);
  await ctx.reply(card.text, { ...html, reply_markup: card.keyboard });
}

contacts.command('contact', (ctx) => sendContact(ctx, parseId(ctx.match, '/contact 9')));
contacts.callbackQuery(/^contact:open:(\d+)$/, async (ctx) => {
  await ctx.answerCallbackQuery();
  await sendContact(ctx, Number(ctx.match[1]));
});

const ask: Record<'name' | 'phone' | 'email', string> = {
  name: 'Новое имя контакта?',
  phone: 'Новый основной телефон (в любом формате), или «-», чтобы убрать его?',
  email: 'Новый основной e-mail, или «-», чтобы убрать его?',
};

contacts.callbackQuery(/^contact:edit:(\d+):(name|phone|email)$/, async (ctx) => {
  const contact = await getContact(ctx.crm, Number(ctx.match[1]));
  await ctx.answerCallbackQuery();
  const field = ctx.match[2] as 'name' | 'phone' | 'email';
  ctx.session.flow = { kind: 'contact_edit', contactId: contact.id, field };
  const now = field === 'name' ? contact.name : field === 'phone' ? (contact.phones[0] ? phone(contact.phones[0]) : 'нет') : (contact.emails[0] ?? 'нет');
  await ctx.reply(`${ask[field]} Сейчас: ${esc(now)}. /cancel — отменить`, html);
});

const remove = (t: string) => ['-', '—', 'нет', 'убрать'].includes(t.toLowerCase());

export async function contactEditStep(ctx: BotContext, flow: Extract<Flow, { kind: 'contact_edit' }>, text: string): Promise<void> {
  const t = text.trim();
  const contact = await getContact(ctx.crm, flow.contactId);
  let patch: Parameters<typeof updateContact>[2];
  if (flow.field === 'name') {
    if (!t) return void (await ctx.reply('Имя не может быть пустым. Новое имя контакта?'));
    patch = { name: t };
  } else if (flow.field === 'phone') {
    const p = remove(t) ? null : normalizePhone(t);
    if (!remove(t) && !p) return void (await ctx.reply('Не похоже на номер телефона. Например: 8 916 123-45-67. Или «-», чтобы убрать номер.'));
    // the first phone is the main one: it is replaced, the others stay
    patch = { phones: [...(p ? [p] : []), ...contact.phones.slice(1).filter((x) => x !== p)] };
  } else {
    const e = remove(t) ? null : normalizeEmail(t);
    if (!remove(t) && !e) return void (await ctx.reply('Не похоже на e-mail. Например: ivan@firma.ru. Или «-», чтобы убрать адрес.'));
    patch = { emails: [...(e ? [e] : []), ...contact.emails.slice(1).filter((x) => x !== e)] };
  }
  await updateContact(ctx.crm, contact.id, patch);
  ctx.session.flow = undefined;
  const card = await contactCard(ctx, contact.id);
  await ctx.reply(`Контакт изменён.\n\n${card.text}`, { ...html, reply_markup: card.keyboard });
}
