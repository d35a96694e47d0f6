/**
 * Finds where records end in CSV (RFC 4180) or JSON Lines text, without parsing the fields.
 * The submitter cuts files into chunks with it and a worker cuts a chunk into rows with it when a
 * row must be judged alone, so both count rows the same way:
 * - a record ends at a line feed outside double quotes (CSV quotes may hold line breaks;
 *   JSON Lines has none, a JSON string cannot hold a raw line feed);
 * - a blank record (nothing, or a lone carriage return; for JSON Lines, only white space) is no row:
 *   the model server's CSV reader skips those lines too.
 */
export type RecordFormat = 'csv' | 'jsonl';

export interface ScanResult {
  /** Offset just after the last record taken (its line feed included). */
  readonly end: number;
  /** Non-blank records between the start and `end`. */
  readonly records: number;
  /** Offset where the first non-blank record taken starts (`end` when none). */
  readonly firstStart: number;
}

/**
 * Scans one text. Keeps the position of the next double quote between calls, so that cutting a
 * large quote-free block into many chunks reads the block once, not once per chunk.
 */
export class RecordScanner {
  readonly #format: RecordFormat;
  #text = '';
  /** The first double quote at or after #quotesFrom (-1: none). */
  #nextQuote = -1;
  #quotesFrom = 0;

  constructor(format: RecordFormat) {
    this.#format = format;
  }

  reset(text: string): void {
    this.#text = text;
    this.#nextQuote = this.#format === 'csv' ? text.indexOf('"') : -1;
    this.#quotesFrom = 0;
  }

  /**
   * Takes records from `start` until `maxRecords` non-blank ones are taken or the text ends. A
   * record without its closing line feed is taken only when `final` (the end of the input);
   * otherwise the scan stops before it, so the caller can append the next block and go on.
   */
  scan(start: number, maxRecords: number, final: boolean): ScanResult {
    const text = this.#text;
    const n = text.length;
    let pos = start;
    let records = 0;
    let firstStart = -1;
    while (records < maxRecords && pos < n) {
      const end = this.#recordEnd(pos);
      if (end === -1) {
        if (!final) break;
        if (!this.#isBlank(pos, n)) {
          if (firstStart === -1) firstStart = pos;
          records++;
        }
        pos = n;
        break;
      }
      if (!this.#isBlank(pos, end)) {
        if (firstStart === -1) firstStart = pos;
        records++;
      }
      pos = end + 1;
    }
    return { end: pos, records, firstStart: firstStart === -1 ? pos : firstStart };
  }

  /** Offset of the line feed that ends the record starting at `start`, or -1 when the text ends first. */
  #recordEnd(start: number): number {
    const text = this.#text;
    let nl = text.indexOf('\n', start);
    if (this.#format !== 'csv') return nl;
    // A scan may start again before where the cached quote was found (a retry after more text came).
    if (start < this.#quotesFrom || (this.#nextQuote !== -1 && this.#nextQuote < start)) {
      this.#nextQuote = text.indexOf('"', start);
      this.#quotesFrom = start;
    }
    if (this.#nextQuote === -1 || (nl !== -1 && this.#nextQuote > nl)) return nl;
    // Quotes inside this line: a line feed ends the record only after an even number of quotes
    // ("" inside a quoted field counts twice, so parity is enough).
    let quotes = 0;
    let from = start;
    for (;;) {
      const stop = nl === -1 ? text.length : nl;
      while (this.#nextQuote !== -1 && this.#nextQuote < stop) {
        quotes++;
        this.#quotesFrom = this.#nextQuote + 1;
        this.#nextQuote = text.indexOf('"', this.#quotesFrom);
      }
      if (quotes % 2 === 0 || nl === -1) return nl;
      from = nl + 1;
      nl = text.indexOf('\n', from);
    }
  }

  #isBlank(start: number, end: number): boolean {
    const text = this.#text;
    if (end === start) return true;
    if (this.#format === 'csv') return end === start + 1 && text.charCodeAt(start) === 13;
    for (let i = start; i < end; i++) {
      const c = text.charCodeAt(i);
      if (c !== 32 && c !== 9 && c !== 13) return false;
    }
    return true;
  }
}

/** Every non-blank record of a complete text, without its line break. */
export function splitRecords(text: string, format: RecordFormat): string[] {
  const scanner = new RecordScanner(format);
  scanner.reset(text);
  const out: string[] = [];
  let pos = 0;
  while (pos < text.length) {
    const { end, records, firstStart } = scanner.scan(pos, 1, true);
    if (records === 1) out.push(stripLineBreak(text.slice(firstStart, end)));
    pos = end;
  }
  return out;
}

function stripLineBreak(record: string): string {
  let end = record.length;
  if (record.charCodeAt(end - 1) === 10) end--;
  if (record.charCodeAt(end - 1) === 13) end--;
  return record.slice(0, end);
}
