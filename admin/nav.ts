import type { Role } from '../core/context.js';

/**
 * The panel's menu. A new section adds one line here (and its routes file to routes/index.ts);
 * `roles` decides who sees the link, the route and the core verb still check access themselves.
 */
export interface NavItem {
  href: string;
  label: string;
  roles: Role[];
  group: 'work' | 'books' | 'system';
}

const everyone: Role[] = ['admin', 'head', 'manager'];
const staff: Role[] = ['admin', 'head'];

export const adminNav: NavItem[] = [
  { href: '/admin/counterparties', label: 'Контрагенты', roles: everyone, group: 'work' },
  { href: '/admin/contacts', label: 'Контакты и рассылки', roles: everyone, group: 'work' },
  { href: '/admin/leads', label: 'Лиды', roles: everyone, group: 'work' },
  { href: '/admin/deals', label: 'Сделки', roles: everyone, group: 'work' },
  { href: '/admin/works', label: 'Мои работы', roles: everyone, group: 'work' },
  { href: '/admin/calls', label: 'Звонки', roles: everyone, group: 'work' },
  { href: '/admin/tickets', label: 'Обращения', roles: everyone, group: 'work' },
  { href: '/admin/duplicates', label: 'Возможные дубликаты', roles: everyone, group: 'work' },
  { href: '/admin/plan', label: 'План и факт', roles: everyone, group: 'work' },
  { href: '/admin/imports', label: 'Загрузка клиентов', roles: staff, group: 'work' },
  { href: '/admin/mailouts', label: 'Рассылки писем', roles: staff, group: 'work' },
  { href: '/admin/users', label: 'Пользователи', roles: ['admin'], group: 'books' },
  { href: '/admin/segments', label: 'Сегменты рынка', roles: staff, group: 'books' },
  { href: '/admin/managers', label: 'Менеджер по работе с клиентами', roles: staff, group: 'books' },
  { href: '/admin/actions', label: 'Действия и результаты', roles: staff, group: 'books' },
  { href: '/admin/stages', label: 'Стадии сделок', roles: staff, group: 'books' },
  { href: '/admin/books/loss-reasons', label: 'Причины отказа', roles: staff, group: 'books' },
  { href: '/admin/books/organizations', label: 'Наши организации', roles: staff, group: 'books' },
  { href: '/admin/books/products', label: 'Товары и услуги', roles: everyone, group: 'books' },
  { href: '/admin/books/phone-lines', label: 'Линии', roles: staff, group: 'books' },
  { href: '/admin/books/call-rules', label: 'Прием звонков IP', roles: staff, group: 'books' },
  { href: '/admin/books/answer-templates', label: 'Шаблоны ответов', roles: everyone, group: 'books' },
  { href: '/admin/helpdesk', label: 'HelpDesk: график и сроки', roles: staff, group: 'books' },
  { href: '/admin/books/document-templates', label: 'Шаблоны документов', roles: staff, group: 'books' },
  { href: '/admin/mailing-types', label: 'Типы рассылки', roles: everyone, group: 'books' },
  { href: '/admin/campaigns', label: 'Рекламные кампании', roles: staff, group: 'books' },
  { href: '/admin/lead-sources', label: 'Источники лидов', roles: everyone, group: 'books' },
  { href: '/admin/plans', label: 'Планы менеджеров', roles: staff, group: 'books' },
  { href: '/admin/integrations', label: 'Интеграции', roles: ['admin'], group: 'system' },
  { href: '/admin/api-keys', label: 'API-ключи', roles: ['admin'], group: 'system' },
  { href: '/admin/mailboxes', label: 'Почтовые ящики', roles: ['admin'], group: 'books' },
];

export const navGroups: Record<NavItem['group'], string> = { work: 'Работа', books: 'Справочники', system: 'Система' };

/** The menu for one user, with the current section marked. */
export function navFor(role: Role, path: string) {
  const items = adminNav.filter((i) => i.roles.includes(role));
  return (Object.keys(navGroups) as NavItem['group'][])
    .map((group) => ({
      label: navGroups[group],
      items: items
        .filter((i) => i.group === group)
        .map((i) => ({ ...i, current: path === i.href || path.startsWith(i.href + '/') || path.startsWith(i.href + '?') })),
    }))
    .filter((g) => g.items.length);
}
