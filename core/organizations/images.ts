import { and, eq } from 'drizzle-orm';
import { inTransaction, type ServiceContext } from '../context.js';
import { organizationImageKinds, organizationImages, type OrganizationImageKind } from '../db/schema/index.js';
import { invalid } from '../errors.js';
import { audit } from '../shared/audit.js';
import { requireKeeper, requireReader } from './access.js';
import { organizationImageLabels } from './labels.js';
import { organizationRow } from './organizations.js';

export { organizationImageKinds, type OrganizationImageKind };

/** Images are printed on every document: a bigger one only makes the PDF heavy. */
export const MAX_IMAGE_BYTES = 2 * 1024 * 1024;

export type ImageMime = 'image/png' | 'image/jpeg';

/** PNG or JPEG by their first bytes: what the file is, not what its name or the browser says. */
export function imageMimeOf(data: Uint8Array): ImageMime | null {
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (data.length >= 8 && png.every((b, i) => data[i] === b)) return 'image/png';
  if (data.length >= 3 && data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) return 'image/jpeg';
  return null;
}

export const isImageKind = (kind: string): kind is OrganizationImageKind => (organizationImageKinds as readonly string[]).includes(kind);

function checkKind(kind: string): OrganizationImageKind {
  if (!isImageKind(kind)) throw invalid({ kind: 'выберите: логотип, подпись руководителя, подпись бухгалтера или печать' });
  return kind;
}

/** Replaces the organisation's logo, signature or stamp. */
export async function setOrganizationImage(
  ctx: ServiceContext,
  organizationId: number,
  kind: string,
  file: { mime?: string | null; data: Uint8Array },
): Promise<{ kind: OrganizationImageKind; mime: ImageMime; size: number }> {
  requireKeeper(ctx);
  const k = checkKind(kind);
  const label = organizationImageLabels[k];
  if (!file.data.length) throw invalid({ [k]: `${label}: выберите файл` });
  if (file.data.length > MAX_IMAGE_BYTES) throw invalid({ [k]: `${label}: файл больше 2 МБ — уменьшите картинку` });
  const mime = imageMimeOf(file.data);
  if (!mime) throw invalid({ [k]: `${label}: нужна картинка PNG или JPEG` });
  const data = Buffer.from(file.data);
  return inTransaction(ctx, async (tx) => {
    await organizationRow(tx, organizationId);
    const now = tx.clock.now();
    await tx.db
      .insert(organizationImages)
      .values({ organizationId, kind: k, mime, data, updatedAt: now })
      .onConflictDoUpdate({ target: [organizationImages.organizationId, organizationImages.kind], set: { mime, data, updatedAt: now } });
    await audit(tx, 'organization.image_set', 'organization', organizationId, { [k]: { from: null, to: `${mime}, ${data.length} байт` } });
    return { kind: k, mime, size: data.length };
  });
}

export async function removeOrganizationImage(ctx: ServiceContext, organizationId: number, kind: string): Promise<void> {
  requireKeeper(ctx);
  const k = checkKind(kind);
  await inTransaction(ctx, async (tx) => {
    await organizationRow(tx, organizationId);
    const gone = await tx.db
      .delete(organizationImages)
      .where(and(eq(organizationImages.organizationId, organizationId), eq(organizationImages.kind, k)))
      .returning({ kind: organizationImages.kind });
    if (gone.length) await audit(tx, 'organization.image_removed', 'organization', organizationId, { [k]: { from: 'есть', to: null } });
  });
}

/**
 * The image's bytes, or null when it has none. The logo is for everyone; a signature or the stamp
 * only for those who keep the book — managers get them printed on documents, never as a file.
 */
export async function readOrganizationImage(ctx: ServiceContext, organizationId: number, kind: string): Promise<{ mime: string; data: Buffer } | null> {
  const k = checkKind(kind);
  if (k === 'logo') requireReader(ctx);
  else requireKeeper(ctx);
  const [row] =
    Number.isInteger(organizationId) && organizationId > 0 && organizationId <= 2_147_483_647
      ? await ctx.db
          .select({ mime: organizationImages.mime, data: organizationImages.data })
          .from(organizationImages)
          .where(and(eq(organizationImages.organizationId, organizationId), eq(organizationImages.kind, k)))
      : [];
  return row ?? null;
}
