import type { Api } from 'grammy';
import type { Message } from 'grammy/types';
import type { AttachmentKind, InboundAttachment } from '../../core/channels/types.js';
import { ServiceError } from '../../core/errors.js';

/** the Bot API serves files up to 20 MB to bots */
export const MAX_TELEGRAM_FILE = 20 * 1024 * 1024;

export interface TelegramFileRef {
  fileId: string;
  name: string;
  mime: string;
  size?: number | undefined;
  kind: AttachmentKind;
}

/** The files a message carries, whatever kind it is: a photo's largest size, a voice note, a sticker… */
export function filesOf(m: Message): TelegramFileRef[] {
  const id = m.message_id;
  const out: TelegramFileRef[] = [];
  if (m.photo?.length) {
    const best = m.photo[m.photo.length - 1]!;
    out.push({ fileId: best.file_id, name: `photo-${id}.jpg`, mime: 'image/jpeg', size: best.file_size, kind: 'photo' });
  }
  if (m.voice) out.push({ fileId: m.voice.file_id, name: `voice-${id}.ogg`, mime: m.voice.mime_type ?? 'audio/ogg', size: m.voice.file_size, kind: 'voice' });
  if (m.video_note) out.push({ fileId: m.video_note.file_id, name: `video-note-${id}.mp4`, mime: 'video/mp4', size: m.video_note.file_size, kind: 'video_note' });
  if (m.video) out.push({ fileId: m.video.file_id, name: m.video.file_name ?? `video-${id}.mp4`, mime: m.video.mime_type ?? 'video/mp4', size: m.video.file_size, kind: 'video' });
  if (m.animation) {
    out.push({ fileId: m.animation.file_id, name: m.animation.file_name ?? `animation-${id}.mp4`, mime: m.animation.mime_type ?? 'video/mp4', size: m.animation.file_size, kind: 'video' });
  } else if (m.document) {
    out.push({ fileId: m.document.file_id, name: m.document.file_name ?? `file-${id}`, mime: m.document.mime_type ?? 'application/octet-stream', size: m.document.file_size, kind: 'document' });
  }
  if (m.audio) out.push({ fileId: m.audio.file_id, name: m.audio.file_name ?? `audio-${id}.mp3`, mime: m.audio.mime_type ?? 'audio/mpeg', size: m.audio.file_size, kind: 'audio' });
  if (m.sticker) {
    const s = m.sticker;
    const [ext, mime] = s.is_animated ? ['tgs', 'application/x-tgsticker'] : s.is_video ? ['webm', 'video/webm'] : ['webp', 'image/webp'];
    out.push({ fileId: s.file_id, name: `sticker-${id}.${ext}`, mime, size: s.file_size, kind: 'sticker' });
  }
  return out;
}

/** Downloads a file from the Bot API; null when it is too big for a bot to fetch. */
export async function downloadTelegramFile(api: Api, apiRoot: string, token: string, f: TelegramFileRef): Promise<InboundAttachment | null> {
  if (f.size && f.size > MAX_TELEGRAM_FILE) return null;
  const file = await api.getFile(f.fileId);
  if (!file.file_path) return null;
  const res = await fetch(`${apiRoot}/file/bot${token}/${file.file_path}`, { signal: AbortSignal.timeout(60_000) });
  if (!res.ok) throw new Error(`file download failed: ${res.status}`);
  return { name: f.name, mime: f.mime, kind: f.kind, data: Buffer.from(await res.arrayBuffer()) };
}

/** A client's files, downloaded; those too big for a bot are named in `missing` (kept as a note in the message). */
export async function clientFiles(api: Api, apiRoot: string, token: string, m: Message): Promise<{ files: InboundAttachment[]; missing: string[] }> {
  const files: InboundAttachment[] = [];
  const missing: string[] = [];
  for (const ref of filesOf(m)) {
    const file = await downloadTelegramFile(api, apiRoot, token, ref);
    if (file) files.push(file);
    else missing.push(ref.name);
  }
  return { files, missing };
}

/** A manager's files for a client: one too big for a bot is refused, so the manager knows it did not go. */
export async function managerFiles(api: Api, apiRoot: string, token: string, m: Message): Promise<InboundAttachment[]> {
  const files: InboundAttachment[] = [];
  for (const ref of filesOf(m)) {
    const file = await downloadTelegramFile(api, apiRoot, token, ref);
    if (!file) throw new ServiceError('invalid', `Файл «${ref.name}» больше 20 МБ: бот не может его переслать. Отправьте ссылку на него.`);
    files.push(file);
  }
  return files;
}
