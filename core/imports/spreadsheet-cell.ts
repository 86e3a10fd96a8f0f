/**
 * What Excel or LibreOffice would take for the start of a formula when opening a CSV: = + - @
 * (also their full-width forms, and after spaces), or a tab or carriage return first. A cell from
 * a client list such as `=HYPERLINK("http://…";"Открыть")` would otherwise run in the office's
 * spreadsheet.
 */
const FORMULA_START = /^(?:[\t\r]|\s*[=+\-@\uFF1D\uFF0B\uFF0D\uFF20])/;
const PLAIN_NUMBER = /^[+-]?\d+(?:[.,]\d+)?$/;

/**
 * A cell written to a CSV for people to open in a spreadsheet: one that could start a formula gets
 * a leading apostrophe, the spreadsheets' own "this is text" mark. A plain number (-5, +79161234567)
 * stays as it is: it cannot be a formula. `readableCell` takes the mark off again when the file is
 * loaded back.
 */
export function spreadsheetSafeCell(cell: string): string {
  return FORMULA_START.test(cell) && !PLAIN_NUMBER.test(cell) ? `'${cell}` : cell;
}

/** A cell of an uploaded CSV without the apostrophe `spreadsheetSafeCell` put in front of a formula-like value. */
export function readableCell(cell: string): string {
  return cell.startsWith("'") && FORMULA_START.test(cell.slice(1)) ? cell.slice(1) : cell;
}
