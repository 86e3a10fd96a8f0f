import { Composer } from 'grammy';
import type { BotContext, Flow, MailTarget } from '../context.js';
import { esc, html } from '../format.js';
import { parseId } from '../ids.js';
import { composeEmail } from '../../../core/mail/compose.js';
import { getLead } from '../../../core/leads/leads.js';
import { getDeal } from '../../../core/deals/deals.js';
import { getCounterparty } from '../../../core/counterparties/counterparties.js';
import { getContact } from '../../../core/contacts/contacts.js';
import { ServiceError } from '../../../core/errors.js';

/** R18 from Telegram: `/mail lead 42` (or deal, client, contact), then the subject and the text. */
export const mail = new Composer<BotContext>();

const usage = 'Письмо клиенту: /mail lead 42, /mail deal 7, /mail client 15 или /mail contact 9';

mail.command('mail', async (ctx) => {
  const [kind, id] = ctx.match.trim().split(/\s+/);
  const n = parseId(id, '/mail lead 42');
  let target: MailTarget;
  // the record is read first so that a refusal comes before any typing
  if (kind === 'lead') target = { leadId: (await getLead(ctx.crm, n)).id };
  else if (kind === 'deal') target = { dealId: (await getDeal(ctx.crm, n)).id };
  else if (kind === 'client') target = { counterpartyId: (await getCounterparty(ctx.crm, n)).id };
  else if (kind === 'contact') target = { contactId: (await getContact(ctx.crm, n)).id };
  else throw new ServiceError('invalid', usage);
  ctx.session.flow = { kind: 'mail', step: 'subject', target };
  await ctx.reply('Тема письма? (/cancel — отменить)');
});

export async function mailStep(ctx: BotContext, flow: Extract<Flow, { kind: 'mail' }>, text: string): Promise<void> {
  if (flow.step === 'subject') {
    if (!text.trim()) return void (await ctx.reply('Тема не может быть пустой. Тема письма?'));
    ctx.session.flow = { ...flow, step: 'body', subject: text.trim() };
    return void (await ctx.reply('Текст письма?'));
  }
  const email = await composeEmail(ctx.crm, { ...flow.target, subject: flow.subject!, body: text });
  ctx.session.flow = undefined;
  await ctx.reply(`Письмо «${esc(email.subject)}» для ${esc(email.toAddresses.join(', '))} сохранено как исходящее и отправляется. Если не уйдёт, я сообщу.`, html);
}
