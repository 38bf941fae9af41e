import { pino, type Logger, type LevelWithSilent } from "pino";
import pretty from "pino-pretty";

export type { Logger } from "pino";

export interface LoggerInit {
  level: LevelWithSilent;
  /** true: human-readable; false: JSON lines; "auto": human-readable when stdout is a terminal. */
  pretty: boolean | "auto";
  /** Where lines go; defaults to stdout. */
  destination?: NodeJS.WritableStream;
}

/** The node's root logger; components take `logger.child({ component })`. */
export function createLogger(init: LoggerInit): Logger {
  const destination = init.destination ?? process.stdout;
  const usePretty = init.pretty === "auto" ? Boolean((destination as { isTTY?: boolean }).isTTY) : init.pretty;
  const options = { level: init.level, base: { pid: process.pid } };
  if (usePretty) {
    return pino(
      options,
      pretty({ destination: destination as NodeJS.WritableStream & { fd?: number }, sync: true, colorize: true }),
    );
  }
  return pino(options, destination === process.stdout ? pino.destination({ fd: 1, sync: true }) : destination);
}
