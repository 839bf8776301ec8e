/**
 * Structured JSON log lines on stderr, from named loggers whose levels the admin API's /logging sets
 * (Envoy's levels and, where one does the same job, Envoy's logger names). Never pass secrets in fields.
 */

/** Envoy's log levels, from the most verbose; a logger at a level writes lines of that level and above. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warning', 'error', 'critical', 'off'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Bulwark's loggers. */
export const LOGGER_NAMES = ['admin', 'config', 'connection', 'file', 'hc', 'http', 'key_custody', 'main', 'upstream'] as const;
export type LoggerName = (typeof LOGGER_NAMES)[number];

/** The levels a call names; 'warn' is Envoy's 'warning' (the name the lines carry). */
export type LineLevel = 'debug' | 'info' | 'warn' | 'error';

/** A logger: writes a line when its level lets `level` through. */
export interface ProxyLogger {
  (level: LineLevel, msg: string, fields?: Record<string, unknown>): void;
  /** Whether a line of `level` would be written (for lines whose fields cost something to build). */
  enabled(level: LineLevel): boolean;
}

const DEFAULT_LEVEL: LogLevel = 'info';
const RANK: Readonly<Record<LogLevel, number>> = Object.fromEntries(LOG_LEVELS.map((l, i) => [l, i])) as Record<LogLevel, number>;
/** Each logger's level in this process; every process of a proxy is told the same (the primary passes changes on). */
const levels = new Map<LoggerName, LogLevel>(LOGGER_NAMES.map((n) => [n, DEFAULT_LEVEL]));

function lineRank(level: LineLevel): number {
  return RANK[level === 'warn' ? 'warning' : level];
}

/** The named logger. */
export function proxyLogger(name: LoggerName): ProxyLogger {
  const enabled = (level: LineLevel): boolean => lineRank(level) >= RANK[levels.get(name)!];
  const log = (level: LineLevel, msg: string, fields: Record<string, unknown> = {}): void => {
    if (!enabled(level)) return;
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, pid: process.pid, logger: name, ...fields })}\n`);
  };
  return Object.assign(log, { enabled });
}

/** Every logger's level, by name. */
export function logLevels(): Record<LoggerName, LogLevel> {
  return Object.fromEntries(levels) as Record<LoggerName, LogLevel>;
}

/** Sets the named loggers' levels in this process. */
export function setLogLevels(change: Partial<Record<LoggerName, LogLevel>>): void {
  for (const [name, level] of Object.entries(change) as Array<[LoggerName, LogLevel]>) if (levels.has(name)) levels.set(name, level);
}

export function isLogLevel(s: string): s is LogLevel {
  return Object.hasOwn(RANK, s);
}

export function isLoggerName(s: string): s is LoggerName {
  return levels.has(s as LoggerName);
}
