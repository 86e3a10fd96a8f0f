/**
 * Where the seller's facsimile signature and stamp go in the PDF: Word bookmarks in the template. The
 * built-in templates have them on the seller's signature line and «М.П.»; an admin adds them to their
 * own template in Word (Вставка → Закладка) with these names. The .docx itself stays without them, to be
 * signed by hand.
 */
import type { BookmarkImage } from '../render/docx-pdf.js';
import type { SellerData } from '../types.js';

export const SIGNATURE_BOOKMARK = 'подпись_продавца';
export const STAMP_BOOKMARK = 'печать_продавца';

/** The seller's images keyed by bookmark: the signature over the line, the stamp over «М.П.». */
export function sellerImages(seller: SellerData): Record<string, BookmarkImage> {
  const images: Record<string, BookmarkImage> = {};
  const { directorSignature, stamp } = seller.images;
  // boxes in points around the bookmark: a signature about 3.5 × 1.5 cm resting on the line,
  // a 4 cm stamp centred a little to the right of «М.П.»
  if (directorSignature) images[SIGNATURE_BOOKMARK] = { data: directorSignature, width: 100, height: 42, dx: -4, dy: -26 };
  if (stamp) images[STAMP_BOOKMARK] = { data: stamp, width: 113, height: 113, dx: -10, dy: -70 };
  return images;
}
