import type { leads } from '../db/schema/index.js';

type LeadSource = (typeof leads.$inferSelect)['source'];
type LeadStatus = (typeof leads.$inferSelect)['status'];

/** «Источник лида» in words: one label per source, used by the panel, the bot and the history. */
export const leadSourceLabels: Record<LeadSource, string> = {
  manual: 'Вручную',
  website: 'Сайт',
  telegram: 'Telegram',
  whatsapp: 'WhatsApp',
  viber: 'Viber',
  social: 'Социальные сети',
  phone: 'Телефонный звонок',
  email: 'Электронная почта',
  import: 'Загрузка из файла',
};

/** A lead's status in words, for the panel, the bot and the history. */
export const leadStatusLabel: Record<LeadStatus, string> = { new: 'Новый', in_progress: 'В работе', converted: 'Переведён в сделку', closed: 'Закрыт' };
