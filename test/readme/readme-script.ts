/**
 * Turns the shell blocks of the README and the guides in docs/ into one script that runs them as a
 * reader would, in order.
 *
 * Which blocks: every ```sh fence (indented ones in lists too) under the named headings, up to the
 * next heading of the same or a higher level. A command that is meant to fail says so at the end of
 * its last line, in its comment: `# … exit 4` — the script checks it exits with exactly that code;
 * every other command must exit 0. A command that reads what another hub wrote says in its comment
 * that it is to be "run again" until that has arrived: the script runs it again, every half second
 * for up to a minute, until it exits 0. A placeholder (`…`) outside a comment is refused: what the
 * documentation shows, a reader must be able to type.
 */
export interface ReadmeCommand {
  /** The file the command is in (as the messages name it, e.g. `docs/secretariat.md`). */
  file: string;
  /** Line of the command's first line in that file (1-based). */
  line: number;
  /** The command as written, continuation lines and heredoc included. */
  text: string;
  /** The exit code it must end with. */
  expectExit: number;
  /** Started in the background with a trailing `&`. */
  background: boolean;
  /** Run again until it exits 0 (it waits for something another hub writes to arrive). */
  retry: boolean;
}

export interface ReadmeSection {
  heading: string;
  commands: ReadmeCommand[];
}

export function readmeSections(markdown: string, headings: readonly string[], file = "README.md"): ReadmeSection[] {
  const lines = markdown.split("\n");
  return headings.map((heading) => {
    const start = lines.findIndex(
      (l, i) => /^#+ /.test(l) && l.replace(/^#+ /, "").trim() === heading && !insideFence(lines, i),
    );
    if (start < 0) throw new Error(`${file} has no heading '${heading}'`);
    const level = /^#+/.exec(lines[start]!)![0].length;
    let end = lines.length;
    let fenced = false;
    for (let i = start + 1; i < lines.length; i++) {
      if (/^\s*```/.test(lines[i]!)) fenced = !fenced;
      const m = fenced ? null : /^(#+) /.exec(lines[i]!);
      if (m && m[1]!.length <= level) {
        end = i;
        break;
      }
    }
    return { heading, commands: commandsIn(file, lines, start + 1, end) };
  });
}

function insideFence(lines: string[], at: number): boolean {
  let fenced = false;
  for (let i = 0; i < at; i++) if (/^\s*```/.test(lines[i]!)) fenced = !fenced;
  return fenced;
}

function commandsIn(file: string, lines: string[], from: number, to: number): ReadmeCommand[] {
  const commands: ReadmeCommand[] = [];
  let i = from;
  while (i < to) {
    const open = /^(\s*)```sh\s*$/.exec(lines[i]!);
    if (!open) {
      i++;
      continue;
    }
    const indent = open[1]!.length;
    i++;
    const block: Array<{ line: number; text: string }> = [];
    while (i < to && !/^\s*```\s*$/.test(lines[i]!)) {
      block.push({ line: i + 1, text: lines[i]!.slice(Math.min(indent, leadingSpaces(lines[i]!))) });
      i++;
    }
    i++;
    commands.push(...splitCommands(file, block));
  }
  return commands;
}

function leadingSpaces(s: string): number {
  return /^ */.exec(s)![0].length;
}

/** Splits a block into commands: comment lines dropped, `\` continuations and heredocs kept whole. */
function splitCommands(file: string, block: Array<{ line: number; text: string }>): ReadmeCommand[] {
  const out: ReadmeCommand[] = [];
  let k = 0;
  while (k < block.length) {
    const first = block[k]!;
    if (first.text.trim() === "" || first.text.trimStart().startsWith("#")) {
      k++;
      continue;
    }
    const parts = [first.text];
    let last = first.text;
    const heredoc = /<<-?\s*'?"?(\w+)'?"?/.exec(first.text);
    k++;
    while (/\\\s*$/.test(stripComment(last)) && k < block.length) {
      last = block[k]!.text;
      parts.push(last);
      k++;
    }
    if (heredoc) {
      const terminator = heredoc[1]!;
      while (k < block.length && block[k]!.text.trim() !== terminator) parts.push(block[k++]!.text);
      if (k >= block.length) throw new Error(`${file} line ${first.line}: the heredoc '${terminator}' is never closed`);
      parts.push(block[k++]!.text);
    }
    const code = heredoc ? parts.slice(0, 1).map(stripComment) : parts.map(stripComment);
    const placeholder = code.find((c) => c.includes("…"));
    if (placeholder !== undefined)
      throw new Error(
        `${file} line ${first.line}: a placeholder in a command a reader cannot type: ${placeholder.trim()}`,
      );
    const comment = heredoc ? parts[0]! : last;
    const exit = /#.*\bexit (\d+)\b/.exec(comment);
    out.push({
      file,
      line: first.line,
      text: parts.join("\n"),
      expectExit: exit ? Number(exit[1]) : 0,
      background: /&\s*$/.test(stripComment(last)),
      retry: /#.*\brun it again\b/.test(comment),
    });
  }
  return out;
}

/** A line without its trailing comment (a `#` that starts a word, outside quotes). */
function stripComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c === "#" && (i === 0 || /\s/.test(line[i - 1]!))) {
      return line.slice(0, i);
    }
  }
  return line;
}

/**
 * One bash script: `concordat` is the built CLI on the project's Node.js (what the README's alias
 * runs, without npm's own start-up), and after each command a check that names the file and line when
 * its exit code is not the one the documentation promises. The check hands the code on, so the
 * README's `echo $?` still prints it.
 */
export function readmeScript(
  sections: ReadmeSection[],
  cli: { node: string; entry: string },
  prelude: string[] = [],
): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const lines = [
    `concordat() { ${q(cli.node)} ${q(cli.entry)} "$@"; }`,
    "__check() {",
    "  local rc=$1 want=$2 where=$3",
    '  if [ "$rc" != "$want" ]; then echo "$where: exit $rc, the documentation says $want" >&2; exit 97; fi',
    "  return $rc",
    "}",
    ...prelude,
  ];
  for (const section of sections) {
    lines.push(`echo ${q(`## ${section.heading}`)} >&2`);
    for (const c of section.commands) {
      const where = `${c.file} line ${c.line}`;
      lines.push(`echo ${q(`${c.file}:${c.line}$ ${c.text.split("\n")[0]!.trim()}`)} >&2`);
      if (c.retry) {
        lines.push(
          "__until=$((SECONDS + 60))",
          "while :; do",
          c.text,
          "__rc=$?",
          'if [ "$__rc" = 0 ] || [ "$SECONDS" -ge "$__until" ]; then break; fi',
          "sleep 0.5",
          "done",
        );
        lines.push(`__check $__rc 0 ${q(where)}`);
        continue;
      }
      lines.push(c.text);
      lines.push(c.background ? "" : `__check $? ${c.expectExit} ${q(where)}`);
    }
  }
  lines.push("echo 'README walkthrough: every command as the documentation says' >&2");
  return `${lines.join("\n")}\n`;
}
