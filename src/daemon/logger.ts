/**
 * @module pino JSON to stdout (journald keeps it): level names (`"level":"info"`)
 * and ISO 8601 times, so a line reads without a decoder; redaction keeps
 * credentials out of log lines. keond and its realm Workers log alike.
 */
import pino from "pino";

export function createLogger(level: string): pino.Logger {
  return pino({
    level,
    base: { service: "keond" },
    formatters: { level: (label) => ({ level: label }) },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ["*.password", "*.data", "*.token", "*.authorization", "password", "token"],
      censor: "[redacted]",
    },
  });
}
