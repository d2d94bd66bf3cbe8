/** @module pino JSON to stdout (journald keeps it); redaction keeps credentials out of log lines. */
import pino from "pino";

export function createLogger(level: string): pino.Logger {
  return pino({
    level,
    base: { service: "keond" },
    redact: {
      paths: ["*.password", "*.data", "*.token", "*.authorization", "password", "token"],
      censor: "[redacted]",
    },
  });
}
