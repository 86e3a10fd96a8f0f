export type MailEncryption = 'ssl' | 'starttls' | 'none';
export type MailService = 'yandex' | 'mailru' | 'gmail' | 'other';

export interface MailServicePreset {
  label: string;
  imapHost: string;
  imapPort: number;
  imapEncryption: MailEncryption;
  smtpHost: string;
  smtpPort: number;
  smtpEncryption: MailEncryption;
  /** shown beside the password field: these services want an app password, not the account one */
  hint: string;
}

/** Settings the admin panel fills in when a service is chosen; «Другой» leaves them to the admin. */
export const mailServicePresets: Record<MailService, MailServicePreset> = {
  yandex: {
    label: 'Яндекс',
    imapHost: 'imap.yandex.ru',
    imapPort: 993,
    imapEncryption: 'ssl',
    smtpHost: 'smtp.yandex.ru',
    smtpPort: 465,
    smtpEncryption: 'ssl',
    hint: 'Нужен пароль приложения (Яндекс ID → Безопасность → Пароли приложений) и включённый доступ по IMAP в настройках почты.',
  },
  mailru: {
    label: 'Mail.ru',
    imapHost: 'imap.mail.ru',
    imapPort: 993,
    imapEncryption: 'ssl',
    smtpHost: 'smtp.mail.ru',
    smtpPort: 465,
    smtpEncryption: 'ssl',
    hint: 'Нужен пароль для внешнего приложения (Настройки → Безопасность → Пароли для внешних приложений).',
  },
  gmail: {
    label: 'Gmail',
    imapHost: 'imap.gmail.com',
    imapPort: 993,
    imapEncryption: 'ssl',
    smtpHost: 'smtp.gmail.com',
    smtpPort: 465,
    smtpEncryption: 'ssl',
    hint: 'Нужен пароль приложения (аккаунт Google → Безопасность → Пароли приложений, при включённой двухэтапной проверке).',
  },
  other: {
    label: 'Другой',
    imapHost: '',
    imapPort: 993,
    imapEncryption: 'ssl',
    smtpHost: '',
    smtpPort: 465,
    smtpEncryption: 'ssl',
    hint: 'Укажите серверы IMAP и SMTP вашего почтового сервиса.',
  },
};

export const mailServices = Object.keys(mailServicePresets) as MailService[];

export const encryptionLabels: Record<MailEncryption, string> = { ssl: 'SSL/TLS', starttls: 'STARTTLS', none: 'Без шифрования' };
