import { Composer, InlineKeyboard } from 'grammy';
import type { BotContext, Flow } from '../context.js';
import { leadCard } from '../cards.js';
import { html } from '../format.js';
import { createManualLead } from '../../../core/leads/manual-lead.js';
import { normalizePhone } from '../../../core/validation/phone.js';
import { normalizeEmail } from '../../../core/validation/email.js';
import { leadSourceLabels } from '../../../core/leads/labels.js';
import type { LeadSource } from '../../../core/leads/leads.js';

export const newlead = new Composer<BotContext>();

/** Where a lead typed in by hand may come from (the channels make their own leads). */
const typedSources = ['phone', 'email', 'website', 'social', 'telegram', 'whatsapp', 'viber', 'manual'] as const satisfies readonly LeadSource[];

function sourceKeyboard(): InlineKeyboard {
  const kb = new InlineKeyboard();
  typedSources.forEach((s, i) => {
    kb.text(leadSourceLabels[s], `newlead:src:${s}`);
    if (i % 2 === 1) kb.row();
  });
  return kb.row().text('Пропустить', 'newlead:src:-');
}

newlead.callbackQuery(/^newlead:src:(\w+|-)$/, async (ctx) => {
  const flow = ctx.session.flow;
  if (flow?.kind !== 'newlead' || flow.step !== 'source') return ctx.answerCallbackQuery({ text: 'Эта кнопка устарела: начните заново с /newlead.' });
  await ctx.answerCallbackQuery();
  const source = typedSources.find((s) => s === ctx.match[1]);
  ctx.session.flow = { ...flow, step: 'comment', data: { ...flow.data, ...(source ? { source } : {}) } };
  await ctx.reply(`${source ? `Источник: ${leadSourceLabels[source]}. ` : ''}Комментарий? (или «-»)`);
});

const skip = (t: string) => ['-', '—', 'нет', 'пропустить'].includes(t.trim().toLowerCase());

newlead.command('newlead', async (ctx) => {
  ctx.session.flow = { kind: 'newlead', step: 'name', data: {} };
  await ctx.reply('Новый лид. Как зовут клиента? (/cancel — отменить)');
});

/** One step of the guided dialogue; returns true when the text was consumed. */
export async function newleadStep(ctx: BotContext, flow: Extract<Flow, { kind: 'newlead' }>, text: string): Promise<void> {
  const t = text.trim();
  switch (flow.step) {
    case 'name':
      if (!t) return void (await ctx.reply('Имя не может быть пустым. Как зовут клиента?'));
      ctx.session.flow = { ...flow, step: 'phone', data: { ...flow.data, name: t } };
      return void (await ctx.reply('Телефон клиента? (в любом формате, или «-» если нет)'));
    case 'phone': {
      if (skip(t)) {
        ctx.session.flow = { ...flow, step: 'email' };
      } else {
        const p = normalizePhone(t);
        if (!p) return void (await ctx.reply('Не похоже на номер телефона. Например: 8 916 123-45-67. Или «-», если номера нет.'));
        ctx.session.flow = { ...flow, step: 'email', data: { ...flow.data, phone: p } };
      }
      return void (await ctx.reply('E-mail клиента? (или «-», если нет)'));
    }
    case 'email': {
      const e = skip(t) ? undefined : normalizeEmail(t);
      if (e === null) return void (await ctx.reply('Не похоже на e-mail. Например: ivan@firma.ru. Или «-», если адреса нет.'));
      ctx.session.flow = { ...flow, step: 'company', data: { ...flow.data, ...(e ? { email: e } : {}) } };
      return void (await ctx.reply('Компания? (или «-»)'));
    }
    case 'company':
      ctx.session.flow = { ...flow, step: 'source', data: { ...flow.data, ...(skip(t) ? {} : { company: t }) } };
      return void (await ctx.reply('Откуда клиент? Выберите источник или напишите «-».', { reply_markup: sourceKeyboard() }));
    case 'source': {
      if (!skip(t)) {
        const source = typedSources.find((s) => leadSourceLabels[s].toLowerCase() === t.toLowerCase());
        if (!source) return void (await ctx.reply('Выберите источник кнопкой или напишите «-».', { reply_markup: sourceKeyboard() }));
        ctx.session.flow = { ...flow, step: 'comment', data: { ...flow.data, source } };
      } else ctx.session.flow = { ...flow, step: 'comment' };
      return void (await ctx.reply('Комментарий? (или «-»)'));
    }
    case 'comment': {
      const data = flow.data;
      const lead = await createManualLead(ctx.crm, {
        name: data.name!,
        phone: data.phone,
        email: data.email,
        company: data.company,
        source: data.source,
        comment: skip(t) ? undefined : t,
        responsibleId: ctx.staff!.id,
      });
      ctx.session.flow = undefined;
      const card = await leadCard(ctx, lead.id);
      return void (await ctx.reply(`Лид создан.\n\n${card.text}`, { ...html, reply_markup: card.keyboard }));
    }
  }
}
