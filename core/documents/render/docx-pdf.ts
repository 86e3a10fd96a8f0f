/** placeholder while being written */
export interface BookmarkImage {
  data: Buffer;
  width: number;
  height: number;
  dx?: number;
  dy?: number;
}
export async function docxToPdf(docx: Buffer, opts: { images?: Record<string, BookmarkImage> } = {}): Promise<Buffer> {
  void docx;
  void opts;
  throw new Error('docxToPdf: being written');
}
