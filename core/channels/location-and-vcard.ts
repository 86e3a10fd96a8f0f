import { formatPhone, normalizePhone } from '../validation/phone.js';

/**
 * How a shared place and a shared contact card read in a conversation, the same on every
 * channel: a Yandex Maps link (what Russian clients and managers open) and the card's name and
 * phones.
 */

/** A point as the messengers give it (numbers, or strings of digits). */
export interface SharedLocation {
  latitude: number | string;
  longitude: number | string;
  name?: string | null | undefined;
  address?: string | null | undefined;
}

/** «📍 Геопозиция: Красная площадь, Москва https://yandex.ru/maps/…» — a link opens the point on a map. */
export function locationText(loc: SharedLocation): string {
  const place = [loc.name, loc.address]
    .map((s) => s?.trim())
    .filter(Boolean)
    .join(', ');
  const lat = Number(loc.latitude);
  const lon = Number(loc.longitude);
  const head = place ? `📍 Геопозиция: ${place}` : '📍 Геопозиция:';
  if (!Number.isFinite(lat) || !Number.isFinite(lon)) return place ? head : '📍 Геопозиция (без координат)';
  // Yandex Maps takes the point as longitude,latitude
  return `${head} https://yandex.ru/maps/?pt=${coordinate(lon)},${coordinate(lat)}&z=16&l=map`;
}

/** up to 6 decimals (about 10 cm), never in exponent notation */
const coordinate = (x: number) => String(Number(x.toFixed(6)));

export interface VCardSummary {
  name?: string | undefined;
  /** as people read them: +7 916 123 45 67 (kept as written when not a valid number) */
  phones: string[];
}

/** The name and phones of a vCard (3.0 as WhatsApp writes it: `item1.TEL;waid=79161234567:+7 916 123-45-67`). */
export function parseVCard(card: string): VCardSummary {
  let fn: string | undefined;
  let n: string | undefined;
  const phones: string[] = [];
  // a line starting with a space or a tab continues the previous one
  for (const line of card.replace(/\r?\n[ \t]/g, '').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const [prop = '', ...params] = line.slice(0, colon).split(';');
    const value = line.slice(colon + 1);
    // a group prefix (`item1.`) says which label goes with which phone: not needed here
    const name = prop.slice(prop.lastIndexOf('.') + 1).toUpperCase();
    if (name === 'FN') fn = unescapeVCard(value).trim() || fn;
    else if (name === 'N') n = value;
    else if (name === 'TEL') {
      const waid = params.map((p) => /^waid=(\d{7,15})$/i.exec(p)?.[1]).find(Boolean);
      const e164 = (waid && normalizePhone(`+${waid}`)) || normalizePhone(value.replace(/^tel:/i, ''));
      const shown = e164 ? formatPhone(e164) : value.trim();
      if (shown && !phones.includes(shown)) phones.push(shown);
    }
  }
  // N is «family;given;middle;prefix;suffix»: people read it «given middle family»
  const [family = '', given = '', middle = ''] = (n ?? '').split(';').map(unescapeVCard);
  const fromN = [given, middle, family]
    .map((s) => s.trim())
    .filter(Boolean)
    .join(' ');
  return { name: fn || fromN || undefined, phones };
}

const unescapeVCard = (s: string) => s.replace(/\\([\\,;nN])/g, (_, c: string) => (c === 'n' || c === 'N' ? ' ' : c));

/** «📇 Контакт: Иван Петров, +7 903 555 01 02», one line a card. */
export function vCardText(cards: string[]): string {
  return cards
    .map((card) => {
      const { name, phones } = parseVCard(card);
      const parts = [name, ...phones].filter(Boolean);
      return parts.length ? `📇 Контакт: ${parts.join(', ')}` : '📇 Контакт';
    })
    .join('\n');
}
