import { Composer } from 'grammy';
import type { BotContext } from '../context.js';
import { linkTelegram, userActor } from '../../../core/users/users.js';
import { isServiceError } from '../../../core/errors.js';
import { esc, html } from '../format.js';

/** Shown by /help and registered with setMyCommands, so Telegram offers them. */
export const staffCommands = [
  { command: 'leads', description: 'Мои открытые лиды' },
  { command: 'lead', description: 'Карточка лида: /lead 42' },
  { command: 'newlead', description: 'Новый лид' },
  { command: 'deals', description: 'Мои сделки' },
  { command: 'deal', description: 'Карточка сделки: /deal 7' },
  { command: 'newdeal', description: 'Новая сделка: /newdeal или /newdeal client 15' },
  { command: 'works', description: 'Мои работы: просроченные, сегодня, на неделе, позже' },
  { command: 'note', description: 'Заметка: /note lead 12 текст или ответом на карточку' },
  { command: 'find', description: 'Поиск: название, ИНН, телефон, e-mail, лид 12, сделка 7' },
  { command: 'client', description: 'Карточка контрагента: /client 15' },
  { command: 'contact', description: 'Карточка контакта: /contact 9' },
  { command: 'call', description: 'Позвонить: /call 9 (контакт) или /call +7 916…; без номера — мои звонки' },
  { command: 'team', description: 'Команда: лиды, неотвеченные, просрочки (руководителю)' },
  { command: 'plan', description: 'План и факт за месяц' },
  { command: 'tickets', description: 'Обращения клиентов: мои открытые, просроченные' },
  { command: 'ticket', description: 'Карточка обращения: /ticket 12' },
  { command: 'chats', description: 'Мои переписки с клиентами' },
  { command: 'reply', description: 'Ответить клиенту: /reply 3 текст' },
  { command: 'mail', description: 'Письмо клиенту: /mail lead 42' },
  { command: 'cancel', description: 'Отменить ввод' },
  { command: 'help', description: 'Список команд' },
];

export const start = new Composer<BotContext>();

// Linking works for anyone holding a valid one-time code; nothing else here does.
start.command('start', async (ctx, next) => {
  const code = ctx.match.trim();
  if (!code) {
    if (ctx.staff) return ctx.reply(`Здравствуйте, ${esc(ctx.staff.name)}! Команды: /help`, html);
    return next(); // a client's /start is greeted by the client side
  }
  try {
    const user = await linkTelegram(ctx.crm, code, ctx.from!.id);
    ctx.staff = user;
    ctx.crm = { ...ctx.crm, actor: userActor(user) };
    await ctx.reply(`Готово, ${esc(user.name)}: Telegram привязан к CRM.\nСписок команд: /help`, html);
  } catch (e) {
    if (isServiceError(e) && e.code === 'invalid') return ctx.reply('Код привязки неверный, уже использован или истёк. Попросите у администратора новый.');
    throw e;
  }
});

export const help = new Composer<BotContext>();
help.command('help', (ctx) => ctx.reply(['<b>Команды CRM</b>', ...staffCommands.map((c) => `/${c.command} — ${esc(c.description)}`)].join('\n'), html));
help.command('cancel', async (ctx) => {
  const had = !!ctx.session.flow;
  ctx.session.flow = undefined;
  await ctx.reply(had ? 'Ввод отменён.' : 'Нечего отменять.');
});
