import { Composer } from 'grammy';
import type { BotContext, Flow } from '../context.js';
import { leadCard } from '../cards.js';
import { html } from '../format.js';
import { createManualLead } from '../../../core/leads/manual-lead.js';
import { normalizePhone } from '../../../core/validation/phone.js';

export const newlead = new Composer<BotContext>();

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
        ctx.session.flow = { ...flow, step: 'company' };
      } else {
        const p = normalizePhone(t);
        if (!p) return void (await ctx.reply('Не похоже на номер телефона. Например: 8 916 123-45-67. Или «-», если номера нет.'));
        ctx.session.flow = { ...flow, step: 'company', data: { ...flow.data, phone: p } };
      }
      return void (await ctx.reply('Компания? (или «-»)'));
    }
    case 'company':
      ctx.session.flow = { ...flow, step: 'comment', data: { ...flow.data, ...(skip(t) ? {} : { company: t }) } };
      return void (await ctx.reply('Комментарий? (или «-»)'));
    case 'comment': {
      const data = flow.data;
      const lead = await createManualLead(ctx.crm, {
        name: data.name!,
        phone: data.phone,
        company: data.company,
        comment: skip(t) ? undefined : t,
        responsibleId: ctx.staff!.id,
      });
      ctx.session.flow = undefined;
      const card = await leadCard(ctx, lead.id);
      return void (await ctx.reply(`Лид создан.\n\n${card.text}`, { ...html, reply_markup: card.keyboard }));
    }
  }
}
