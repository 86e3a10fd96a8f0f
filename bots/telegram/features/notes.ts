import { Composer } from 'grammy';
import type { BotContext, RecordRef } from '../context.js';
import { recordWord, requireVisible } from '../cards.js';
import { ServiceError } from '../../../core/errors.js';
import { addNote, type NoteEntity } from '../../../core/notes/notes.js';
import { parseId } from '../ids.js';

/** R12 from Telegram: `/note lead 12 текст`, `/note` in reply to a card, or «Заметка» under a card. */
export const notes = new Composer<BotContext>();

const usage = 'Заметка: /note lead 12 текст (или deal, contact, client), или ответьте командой /note текст на карточку';
const kinds: Record<string, RecordRef['type']> = { lead: 'lead', лид: 'lead', deal: 'deal', сделка: 'deal', contact: 'contact', контакт: 'contact', client: 'cp', клиент: 'cp' };
const entityOf: Record<RecordRef['type'], NoteEntity> = { lead: 'lead', deal: 'deal', contact: 'contact', cp: 'counterparty' };

/** The record a card the bot sent is about, read from its title line. */
export function recordInCard(text: string | undefined): RecordRef | null {
  if (!text) return null;
  const m = /^(Лид|Сделка|Контакт) №(\d+)/m.exec(text);
  if (m) return { type: m[1] === 'Лид' ? 'lead' : m[1] === 'Сделка' ? 'deal' : 'contact', id: Number(m[2]) };
  const cp = /^.+ \((?:юрлицо|физлицо|ИП), №(\d+)\)$/m.exec(text);
  return cp ? { type: 'cp', id: Number(cp[1]) } : null;
}

async function saveNote(ctx: BotContext, target: RecordRef, text: string) {
  await addNote(ctx.crm, entityOf[target.type], target.id, text);
  ctx.session.flow = undefined;
  await ctx.reply(`Заметка к карточке ${recordWord[target.type]} №${target.id} сохранена.`);
}

notes.command('note', async (ctx) => {
  const args = ctx.match.trim();
  const replied = recordInCard(ctx.message?.reply_to_message?.text);
  let target: RecordRef;
  let text: string;
  const [word, id] = args.split(/\s+/);
  if (word && kinds[word.toLowerCase()]) {
    target = { type: kinds[word.toLowerCase()]!, id: parseId(id, '/note lead 12 текст') };
    text = args.replace(/^\S+\s+\S+\s*/, '');
  } else if (replied) {
    target = replied;
    text = args;
  } else throw new ServiceError('invalid', usage);
  await requireVisible(ctx, target);
  if (!text) {
    ctx.session.flow = { kind: 'note', target };
    return void (await ctx.reply(`Текст заметки к карточке ${recordWord[target.type]} №${target.id}? (/cancel — отменить)`));
  }
  await saveNote(ctx, target, text);
});

notes.callbackQuery(/^note:new:(lead|deal|contact|cp):(\d+)$/, async (ctx) => {
  const target: RecordRef = { type: ctx.match[1] as RecordRef['type'], id: Number(ctx.match[2]) };
  await requireVisible(ctx, target);
  await ctx.answerCallbackQuery();
  ctx.session.flow = { kind: 'note', target };
  await ctx.reply(`Текст заметки к карточке ${recordWord[target.type]} №${target.id}? (/cancel — отменить)`);
});

export async function noteStep(ctx: BotContext, target: RecordRef, text: string): Promise<void> {
  if (!text.trim()) return void (await ctx.reply('Заметка пустая. Напишите текст или /cancel.'));
  await saveNote(ctx, target, text);
}
