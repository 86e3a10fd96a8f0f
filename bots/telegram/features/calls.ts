import { Composer, InlineKeyboard, InputFile } from 'grammy';
import type { BotContext, RecordRef } from '../context.js';
import { leadCard } from '../cards.js';
import { callCardMessage, callerName, callRecord } from '../call-card.js';
import { esc, html, phone, when } from '../format.js';
import { parseId } from '../ids.js';
import { callLinesFor, callRecording, getCall, listCalls, placeCall, type PlaceCallInput } from '../../../core/telephony/calls.js';
import { recordingFile } from '../../../core/telephony/recordings.js';
import { callCard } from '../../../core/telephony/card.js';
import { extensionOf } from '../../../core/telephony/lines.js';
import { callDirectionLabels, callStatusLabels, formatCallDuration } from '../../../core/telephony/labels.js';
import type { TelephonyClients } from '../../../core/telephony/types.js';
import { getContact, listContacts } from '../../../core/contacts/contacts.js';
import { getCounterparty } from '../../../core/counterparties/counterparties.js';
import { createLead, getLead } from '../../../core/leads/leads.js';
import { getDeal } from '../../../core/deals/deals.js';
import { createWork } from '../../../core/works/works.js';
import { actionByName } from '../../../core/works/actions.js';
import { CALL_ACTION } from '../../../core/telephony/missed.js';
import { ServiceError } from '../../../core/errors.js';
import { normalizePhone } from '../../../core/validation/phone.js';
import { dateInZone, localTimeInZone } from '../../../core/validation/time.js';

export interface CallsFeatureDeps {
  /** the providers that can place calls in this process */
  telephony: TelephonyClients;
  /** recordings are stored under it */
  dataDir: string;
  publicUrl?: string | undefined;
}

/**
 * What a record a call is placed from is, in callback data: the card's own spelling, or «n» for a
 * bare number typed with /call.
 */
type DialRef = RecordRef | { type: 'n'; id: 0 };

/** A number the manager may call, named by whose it is. */
interface Dialable {
  number: string;
  label: string;
}

const tz = (ctx: BotContext) => ctx.staff?.timeZone ?? 'Europe/Moscow';
const usage = '/call 9 (номер контакта) или /call +7 916 555-12-34';

/** The numbers of a record: a contact's own; a lead's or deal's contact, then the company's; a company's and its people's. */
async function phonesOf(ctx: BotContext, ref: RecordRef): Promise<{ name: string; phones: Dialable[] }> {
  const out: Dialable[] = [];
  const add = (numbers: string[], who: string | null) => {
    for (const n of numbers) if (!out.some((d) => d.number === n)) out.push({ number: n, label: who ? `${who}: ${phone(n)}` : phone(n) });
  };
  const ofContact = async (id: number | null, named: boolean) => {
    const c = id ? await getContact(ctx.crm, id).catch(() => null) : null;
    if (c) add(c.phones, named ? c.name : null);
  };
  const ofCompany = async (id: number | null, withPeople: boolean) => {
    const cp = id ? await getCounterparty(ctx.crm, id).catch(() => null) : null;
    if (!cp) return;
    add(cp.phones, cp.name);
    if (withPeople) for (const c of (await listContacts(ctx.crm, { counterpartyId: cp.id }, { limit: 30 })).items) add(c.phones, c.name);
  };
  if (ref.type === 'contact') {
    const c = await getContact(ctx.crm, ref.id);
    add(c.phones, null);
    return { name: `контакта «${c.name}»`, phones: out };
  }
  if (ref.type === 'cp') {
    const cp = await getCounterparty(ctx.crm, ref.id);
    await ofCompany(cp.id, true);
    return { name: `клиента «${cp.name}»`, phones: out };
  }
  const rec = ref.type === 'lead' ? await getLead(ctx.crm, ref.id) : await getDeal(ctx.crm, ref.id);
  await ofContact(rec.contactId, true);
  await ofCompany(rec.counterpartyId, !rec.contactId);
  return { name: `${ref.type === 'lead' ? 'лида' : 'сделки'} №${ref.id}`, phones: out };
}

const refData = (ref: DialRef) => `${ref.type}:${ref.id}`;
const links = (ref: DialRef): Pick<PlaceCallInput, 'contactId' | 'counterpartyId' | 'leadId' | 'dealId'> =>
  ref.type === 'contact' ? { contactId: ref.id } : ref.type === 'cp' ? { counterpartyId: ref.id } : ref.type === 'lead' ? { leadId: ref.id } : ref.type === 'deal' ? { dealId: ref.id } : {};

/**
 * R20 from Telegram: «📞 Позвонить» on a card and `/call N` start a call through the company's PBX
 * (the manager's phone rings first, then the client's); the incoming-call card's buttons; a call's
 * recording sent as audio.
 */
export function callsFeature(deps: CallsFeatureDeps): Composer<BotContext> {
  const calls = new Composer<BotContext>();

  /** Without a line the core says why (no lines, no extension, provider not set up) and who fixes it. */
  async function dial(ctx: BotContext, ref: DialRef, number: string, lineId: number | null) {
    const call = await placeCall(ctx.crm, deps.telephony, { number, lineId, ...links(ref) });
    const ext = call.provider ? await extensionOf(ctx.crm, ctx.staff!.id, call.provider).catch(() => null) : null;
    await ctx.reply(`Звоним: сначала зазвонит ваш телефон${ext ? ` (доб. ${esc(ext)})` : ''}, затем — клиент ${esc(phone(number))}.`, html);
  }

  /** With more than one line the manager picks the number the client sees («Выбрать линию оператора»). */
  async function chooseLine(ctx: BotContext, ref: DialRef, number: string) {
    const lines = await callLinesFor(ctx.crm, deps.telephony);
    if (lines.length <= 1) return dial(ctx, ref, number, lines[0]?.id ?? null);
    const kb = new InlineKeyboard();
    for (const l of lines.slice(0, 20)) kb.text(`${l.name} · ${phone(l.number)}`, `tel:${refData(ref)}:${number.slice(1)}:${l.id}`).row();
    await ctx.reply(`Выбрать линию оператора: с какого номера звонить ${esc(phone(number))}?`, { ...html, reply_markup: kb });
  }

  /** Several numbers → the manager chooses one; a record without any says so. */
  async function choosePhone(ctx: BotContext, ref: RecordRef) {
    const { name, phones } = await phonesOf(ctx, ref);
    if (!phones.length) return void (await ctx.reply(`У ${esc(name)} нет телефона. Добавьте его в карточке и позвоните снова.`, html));
    if (phones.length === 1) return chooseLine(ctx, ref, phones[0]!.number);
    const kb = new InlineKeyboard();
    for (const p of phones.slice(0, 20)) kb.text(p.label.slice(0, 60), `tel:${refData(ref)}:${p.number.slice(1)}`).row();
    await ctx.reply(`Какой номер ${esc(name)} набрать?`, { ...html, reply_markup: kb });
  }

  calls.callbackQuery(/^tel:(lead|deal|contact|cp):(\d+)$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    await choosePhone(ctx, { type: ctx.match[1] as RecordRef['type'], id: Number(ctx.match[2]) });
  });
  calls.callbackQuery(/^tel:(lead|deal|contact|cp|n):(\d+):(\d{5,15})(?::(\d+))?$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    const ref = { type: ctx.match[1], id: Number(ctx.match[2]) } as DialRef;
    const number = `+${ctx.match[3]}`;
    if (ctx.match[4]) return dial(ctx, ref, number, Number(ctx.match[4]));
    await chooseLine(ctx, ref, number);
  });

  /** `/call` lists my recent calls; `/call 9` calls contact №9; `/call +7 916 …` calls a number. */
  calls.command('call', async (ctx) => {
    const arg = ctx.match.trim();
    if (!arg) return recentCalls(ctx);
    // a record number is short; a phone number has more digits than any id we hand out
    if (/^№?\d{1,9}$/.test(arg)) return choosePhone(ctx, { type: 'contact', id: parseId(arg, usage) });
    const number = normalizePhone(arg);
    if (!number) throw new ServiceError('invalid', `Не понял, кому звонить. Например: ${usage}`);
    await chooseLine(ctx, { type: 'n', id: 0 }, number);
  });

  async function recentCalls(ctx: BotContext) {
    const list = await listCalls(ctx.crm, { userId: ctx.staff!.id, limit: 10 });
    if (!list.length) return void (await ctx.reply(`Звонков пока нет. Позвонить: ${usage}, или «📞 Позвонить» в карточке.`));
    const kb = new InlineKeyboard();
    const lines = list.map((c) => {
      const who = c.contactName ?? (c.clientNumber ? phone(c.clientNumber) : '—');
      kb.text(`№${c.id} ${who.slice(0, 30)}`, `call:card:${c.id}`);
      if (c.recordingStatus === 'stored') kb.text(`🎧 №${c.id}`, `call:rec:${c.id}`);
      kb.row();
      const how = c.status === 'answered' && c.durationSec ? `${callStatusLabels[c.status]}, ${formatCallDuration(c.durationSec)}` : callStatusLabels[c.status];
      return `№${c.id} · ${when(ctx, c.at)} · ${callDirectionLabels[c.direction]} · ${esc(who)}${c.counterpartyName ? ` (${esc(c.counterpartyName)})` : ''} · ${how}${c.recordingStatus === 'stored' ? ' · 🎧' : ''}`;
    });
    await ctx.reply(`<b>Мои звонки</b>\n${lines.join('\n')}\n\nКарточка звонка — кнопкой с его номером, запись — 🎧.`, { ...html, reply_markup: kb });
  }

  calls.callbackQuery(/^call:card:(\d+)$/, async (ctx) => {
    const view = await callCardMessage(ctx.crm, Number(ctx.match[1]), { mode: 'view', timeZone: tz(ctx), publicUrl: deps.publicUrl, canCall: !!ctx.canCall });
    await ctx.answerCallbackQuery();
    await ctx.reply(view.text, { ...html, reply_markup: view.keyboard });
  });

  /** «📞 Перезвонить»: back to the number that called, on the records the call is about. */
  calls.callbackQuery(/^call:back:(\d+)$/, async (ctx) => {
    const card = await callCard(ctx.crm, Number(ctx.match[1]));
    await ctx.answerCallbackQuery();
    if (!card.call.clientNumber) return void (await ctx.reply('Номер звонившего неизвестен: перезвонить не получится.'));
    await chooseLine(ctx, callRecord(card) ?? { type: 'n', id: 0 }, card.call.clientNumber);
  });

  /** «➕ Создать лид»: the caller has nothing open — a lead from the call, as the manager's own. */
  calls.callbackQuery(/^call:lead:(\d+)$/, async (ctx) => {
    const card = await callCard(ctx.crm, Number(ctx.match[1]));
    await ctx.answerCallbackQuery();
    const open = card.deal ? `открытая сделка №${card.deal.id} (/deal ${card.deal.id})` : card.lead ? `открытый лид №${card.lead.id} (/lead ${card.lead.id})` : null;
    if (open) return void (await ctx.reply(`У клиента уже есть ${open}.`));
    const lead = await createLead(ctx.crm, {
      title: `Звонок: ${callerName(card)}`,
      source: 'phone',
      contactId: card.contact?.id ?? null,
      counterpartyId: card.counterparty?.id ?? null,
      ...(card.contact ? {} : { comment: `Звонок с номера ${card.number}` }),
    });
    const shown = await leadCard(ctx, lead.id);
    await ctx.reply(`Создан лид №${lead.id}.\n\n${shown.text}`, { ...html, reply_markup: shown.keyboard });
  });

  const later = { '15m': 'Через 15 минут', '1h': 'Через час', tmr: 'Завтра в 10:00' } as const;

  /** «⏰ Перезвонить позже»: a work «Позвонить» on the client, at a time picked with one press. */
  calls.callbackQuery(/^call:later:(\d+)$/, async (ctx) => {
    const id = Number(ctx.match[1]);
    await getCall(ctx.crm, id);
    await ctx.answerCallbackQuery();
    const kb = new InlineKeyboard();
    for (const [k, label] of Object.entries(later)) kb.text(label, `call:later:${id}:${k}`).row();
    await ctx.reply('Когда перезвонить?', { reply_markup: kb });
  });
  calls.callbackQuery(/^call:later:(\d+):(15m|1h|tmr)$/, async (ctx) => {
    const card = await callCard(ctx.crm, Number(ctx.match[1]));
    const record = callRecord(card);
    if (!record) throw new ServiceError('invalid', 'Звонок не связан ни с контактом, ни с клиентом: запланировать звонок не к чему.');
    const action = await actionByName(ctx.crm, CALL_ACTION);
    if (!action) throw new ServiceError('invalid', 'В справочнике «Действия» нет действия «Позвонить»: попросите администратора добавить его.');
    const now = ctx.crm.clock.now();
    const which = ctx.match[2] as keyof typeof later;
    const deadline =
      which === '15m' ? new Date(now.getTime() + 15 * 60_000) : which === '1h' ? new Date(now.getTime() + 60 * 60_000) : localTimeInZone(dateInZone(new Date(now.getTime() + 86_400_000), tz(ctx)), 10, 0, tz(ctx));
    const link = { lead: { leadId: record.id }, deal: { dealId: record.id }, contact: { contactId: record.id }, cp: { counterpartyId: record.id } }[record.type];
    const work = await createWork(ctx.crm, { actionId: action.id, deadline, comment: `Перезвонить: ${callerName(card)}, ${card.number}`, ...link });
    await ctx.answerCallbackQuery('Запланировано');
    await ctx.reply(`Работа «Позвонить» №${work.id} запланирована на ${esc(when(ctx, work.deadline))}.`, html);
  });

  /** «🎧 Запись»: the stored recording as audio (the core decides who may hear it). */
  calls.callbackQuery(/^call:rec:(\d+)$/, async (ctx) => {
    const rec = await callRecording(ctx.crm, Number(ctx.match[1]));
    await ctx.answerCallbackQuery();
    const file = new InputFile(recordingFile(deps.dataDir, rec.path), rec.name);
    const caption = `Запись звонка №${ctx.match[1]}`;
    // Telegram plays MP3 and M4A as audio; any other format goes as a file
    if (/^audio\/(mpeg|mp3|mp4|m4a|x-m4a|aac)$/.test(rec.mime)) await ctx.replyWithAudio(file, { caption, title: caption });
    else await ctx.replyWithDocument(file, { caption });
  });

  return calls;
}
