import { quote } from "./text.js";
/** CSV reading shared by the trainer files (cli/trainer-files.ts) and the Moodle import (core/moodle.ts). */

export interface CsvRecord {
  /** 1-based line where the record starts. */
  line: number;
  cells: string[];
}

export interface CsvSyntaxError {
  /** Line where the record starts. */
  line: number;
  /** Index of the cell where the problem is. */
  cell: number;
  message: string;
}

/**
 * RFC 4180 reader that tracks the line each record starts on (csv-parse misreports it after a
 * quoted CRLF). Accepts `\n`, `\r\n` and a lone `\r` as line ends, inside quoted cells too (kept
 * verbatim there), skips empty lines, allows blanks around a quoted cell. A record with a syntax
 * error is reported and skipped; reading resumes on the next line. Only ASCII characters are
 * looked at, so surrogate pairs pass through whole.
 */
export function readCsv(text: string): { records: CsvRecord[]; errors: CsvSyntaxError[] } {
  const records: CsvRecord[] = [];
  const errors: CsvSyntaxError[] = [];
  const n = text.length;
  let i = 0;
  let line = 1;

  const atLineEnd = (j: number) => j >= n || text[j] === "\n" || text[j] === "\r";
  /** Consumes the line end at i, if any. */
  const eatLineEnd = () => {
    if (text[i] === "\r") {
      i += text[i + 1] === "\n" ? 2 : 1;
      line++;
    } else if (text[i] === "\n") {
      i++;
      line++;
    }
  };
  /** Skips the rest of the physical line, after an error. */
  const skipLine = () => {
    while (!atLineEnd(i)) i++;
    eatLineEnd();
  };
  const skipBlanks = () => {
    while (text[i] === " " || text[i] === "\t") i++;
  };

  while (i < n) {
    if (atLineEnd(i)) {
      eatLineEnd(); // an empty line
      continue;
    }
    const startLine = line;
    const cells: string[] = [];
    let failed = false;
    for (;;) {
      const fail = (message: string) => {
        errors.push({ line: startLine, cell: cells.length, message });
        failed = true;
      };
      let j = i;
      while (text[j] === " " || text[j] === "\t") j++;
      if (text[j] === '"') {
        const quoteLine = line;
        i = j + 1;
        let value = "";
        let closed = false;
        while (i < n) {
          const quote = text.indexOf('"', i);
          const end = quote === -1 ? n : quote;
          const chunk = text.slice(i, end);
          value += chunk;
          line += lineEnds(chunk);
          i = end;
          if (quote === -1) break;
          if (text[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i++;
          closed = true;
          break;
        }
        if (!closed) {
          fail(`the quoted cell opened on line ${quoteLine} is never closed`);
          break;
        }
        skipBlanks();
        if (i < n && text[i] !== "," && !atLineEnd(i)) {
          const next = String.fromCodePoint(text.codePointAt(i) ?? 0); // whole, even beyond the BMP
          fail(
            `unexpected ${show(next)} after the closing quote on line ${line}; double a quote inside a quoted cell ("")`,
          );
          skipLine();
          break;
        }
        cells.push(value);
      } else {
        let k = i;
        while (k < n && text[k] !== "," && text[k] !== '"' && !atLineEnd(k)) k++;
        if (text[k] === '"') {
          fail(
            `a quote inside an unquoted cell on line ${line}; put the whole cell in double quotes and double the quotes inside it`,
          );
          i = k;
          skipLine();
          break;
        }
        cells.push(text.slice(i, k));
        i = k;
      }
      if (text[i] === ",") {
        i++;
        continue;
      }
      eatLineEnd();
      break;
    }
    if (!failed) records.push({ line: startLine, cells });
  }
  return { records, errors };
}

/** Line ends in `s`: `\n`, `\r\n` and a lone `\r` count one each. */
function lineEnds(s: string): number {
  let count = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 10 || (c === 13 && s.charCodeAt(i + 1) !== 10)) count++;
  }
  return count;
}

/** A value quoted for a message (shortened, shown safely: node/text.ts). */
const show = quote;
