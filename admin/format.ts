import { formatKopecks } from '../core/validation/money.js';
import { formatPhone } from '../core/validation/phone.js';
import { formatCallDuration } from '../core/telephony/labels.js';
import { leadSourceLabels, leadStatusLabel } from '../core/leads/labels.js';
import { attachmentKindLabel, channelLabel, type AttachmentKind } from '../core/channels/types.js';

/** Russian labels of the closed sets the panel shows. */
export const labels = {
  kind: { legal_entity: 'Юридическое лицо', individual: 'Физическое лицо', sole_proprietor: 'Индивидуальный предприниматель' } as Record<string, string>,
  kindShort: { legal_entity: 'ЮЛ', individual: 'ФЛ', sole_proprietor: 'ИП' } as Record<string, string>,
  role: { admin: 'Администратор', head: 'Руководитель отдела продаж', manager: 'Менеджер' } as Record<string, string>,
  leadStatus: leadStatusLabel as Record<string, string>,
  leadSource: leadSourceLabels as Record<string, string>,
  channel: channelLabel as Record<string, string>,
  workStatus: { planned: 'Запланирована', done: 'Выполнена', cancelled: 'Отменена' } as Record<string, string>,
  importStatus: { staging: 'Чтение файла', ready: 'Готов', working: 'Идёт обработка', failed: 'Ошибка' } as Record<string, string>,
  importRowStatus: { pending: 'Ожидает', created: 'Создан', skipped: 'Пропущен', error: 'Ошибка' } as Record<string, string>,
  encoding: { 'utf-8': 'UTF-8', 'windows-1251': 'Windows-1251' } as Record<string, string>,
  delimiter: { ';': 'точка с запятой', ',': 'запятая', '\t': 'табуляция' } as Record<string, string>,
};

/** Russian names of the time zones a Russian-speaking team works in; others show their IANA id. */
const zoneNames: Record<string, string> = {
  'Europe/Kaliningrad': 'Калининград',
  'Europe/Moscow': 'Москва',
  'Europe/Simferopol': 'Симферополь',
  'Europe/Volgograd': 'Волгоград',
  'Europe/Samara': 'Самара',
  'Europe/Saratov': 'Саратов',
  'Europe/Ulyanovsk': 'Ульяновск',
  'Europe/Astrakhan': 'Астрахань',
  'Europe/Kirov': 'Киров',
  'Asia/Yekaterinburg': 'Екатеринбург',
  'Asia/Omsk': 'Омск',
  'Asia/Novosibirsk': 'Новосибирск',
  'Asia/Barnaul': 'Барнаул',
  'Asia/Tomsk': 'Томск',
  'Asia/Novokuznetsk': 'Новокузнецк',
  'Asia/Krasnoyarsk': 'Красноярск',
  'Asia/Irkutsk': 'Иркутск',
  'Asia/Chita': 'Чита',
  'Asia/Yakutsk': 'Якутск',
  'Asia/Vladivostok': 'Владивосток',
  'Asia/Sakhalin': 'Сахалин',
  'Asia/Magadan': 'Магадан',
  'Asia/Kamchatka': 'Камчатка',
  'Asia/Anadyr': 'Анадырь',
  'Europe/Minsk': 'Минск',
  'Europe/Kiev': 'Киев',
  'Europe/Kyiv': 'Киев',
  'Asia/Almaty': 'Алматы',
  'Asia/Tashkent': 'Ташкент',
  'Asia/Bishkek': 'Бишкек',
  'Asia/Yerevan': 'Ереван',
  'Asia/Tbilisi': 'Тбилиси',
  'Asia/Baku': 'Баку',
};

/** «Москва (GMT+3)»: the zone as people name it, with its offset now. */
export function zoneLabel(timeZone: string, at = new Date()): string {
  let offset = '';
  try {
    offset = new Intl.DateTimeFormat('ru-RU', { timeZone, timeZoneName: 'shortOffset' }).formatToParts(at).find((p) => p.type === 'timeZoneName')?.value ?? '';
  } catch {
    // an unknown zone shows as it is
  }
  return `${zoneNames[timeZone] ?? timeZone}${offset ? ` (${offset})` : ''}`;
}

/** The zones offered in forms: Russia's first, west to east, then the rest of Europe and Asia. */
export function zoneChoices(): string[] {
  const all = Intl.supportedValuesOf('timeZone').filter((z) => z.startsWith('Europe/') || z.startsWith('Asia/'));
  const ours = Object.keys(zoneNames).filter((z) => all.includes(z));
  return [...ours, ...all.filter((z) => !ours.includes(z))];
}

/** Formatting helpers handed to every template as `it.f`. */
export function formatters(timeZone: string) {
  const dateTime = new Intl.DateTimeFormat('ru-RU', { timeZone, dateStyle: 'short', timeStyle: 'short' });
  const date = new Intl.DateTimeFormat('ru-RU', { timeZone, dateStyle: 'short' });
  return {
    labels,
    money: (k: bigint | null | undefined) => (k === null || k === undefined ? '' : formatKopecks(k)),
    /** kopecks as a form value in roubles: 1234.5 */
    roubles: (k: bigint | null | undefined) => {
      if (k === null || k === undefined) return '';
      const neg = k < 0n;
      const a = neg ? -k : k;
      const cents = a % 100n;
      return `${neg ? '-' : ''}${a / 100n}${cents ? '.' + String(cents).padStart(2, '0') : ''}`;
    },
    dateTime: (d: Date | string | null | undefined) => (d ? dateTime.format(new Date(d)) : ''),
    date: (d: Date | string | null | undefined) => (d ? date.format(new Date(d)) : ''),
    phone: (p: string) => formatPhone(p),
    /** a call's talk time: «1:05» */
    callDuration: formatCallDuration,
    /** href of a phone link: `<a href="<%= it.f.telHref(p) %>"><%= it.f.phone(p) %></a>` (an extension is dialled after a pause) */
    telHref: (p: string, ext?: string | null) => `tel:${p}${ext ? `,${ext}` : ''}`,
    /** href of an e-mail link */
    mailHref: (e: string) => `mailto:${e}`,
    num: (n: number | bigint | null | undefined) => (n === null || n === undefined ? '' : new Intl.NumberFormat('ru-RU').format(n)),
    /** a file size as people read it: «12 КБ», «3,4 МБ» */
    bytes: (n: number) => {
      const nf = new Intl.NumberFormat('ru-RU', { maximumFractionDigits: 1 });
      if (n < 1024) return `${n} Б`;
      if (n < 1024 * 1024) return `${nf.format(n / 1024)} КБ`;
      return `${nf.format(n / 1024 / 1024)} МБ`;
    },
    zone: (tz: string) => zoneLabel(tz),
    attachmentKind: (k: AttachmentKind) => attachmentKindLabel[k] ?? attachmentKindLabel.document,
    plural,
  };
}

export type Formatters = ReturnType<typeof formatters>;

/** plural(5, ['контрагент', 'контрагента', 'контрагентов']) → «5 контрагентов» */
export function plural(n: number, forms: [string, string, string]): string {
  const a = Math.abs(n) % 100;
  const b = a % 10;
  const form = a > 10 && a < 20 ? forms[2] : b > 1 && b < 5 ? forms[1] : b === 1 ? forms[0] : forms[2];
  return `${new Intl.NumberFormat('ru-RU').format(n)} ${form}`;
}
