import type { callRuleTarget } from '../db/schema/index.js';
import type { CallStatus, PhoneProvider } from './types.js';

export type CallRuleTarget = (typeof callRuleTarget.enumValues)[number];

/** A call's state or result in words, for the panel, the bot and the history. */
export const callStatusLabels: Record<CallStatus, string> = {
  ringing: 'звонит',
  talking: 'идёт разговор',
  answered: 'состоялся',
  missed: 'пропущен',
  no_answer: 'без ответа',
  busy: 'занято',
  failed: 'не состоялся',
};

export const callDirectionLabels: Record<'in' | 'out', string> = { in: 'Входящий', out: 'Исходящий' };

export const phoneProviderLabels: Record<PhoneProvider, string> = {
  mango: 'Mango Office',
  zebra: 'Zebra Telecom',
  generic: 'Другая АТС (вебхук)',
};

/** «Прием звонков IP»: whom a rule gives the call, in words. */
export const callRuleTargetLabels: Record<CallRuleTarget, string> = {
  responsible: 'Ответственному за клиента',
  segment: 'Менеджерам сегмента клиента',
  user: 'Сотруднику',
  queue: 'Очереди по кругу',
  duty: 'Дежурным менеджерам по кругу',
};

/** A call's talk time as people read it: «1:05», «12:00». */
export function formatCallDuration(sec: number): string {
  return `${Math.floor(sec / 60)}:${String(sec % 60).padStart(2, '0')}`;
}
