/**
 * Envoy's POST /logging: `?level=L` sets every logger, `?NAME=L` one, `?paths=n1:l1,n2:l2` several;
 * with no parameter it only lists the loggers. The answer always ends with the list, after the change;
 * a refused change gets 400 with Envoy's error and usage text first.
 */
import { isLoggerName, isLogLevel, LOG_LEVELS, LOGGER_NAMES, type LoggerName, type LogLevel } from '../proxy-log.js';

export type LoggingChange = Partial<Record<LoggerName, LogLevel>>;

/** The change a query asks for (empty: none), or why it is refused (Envoy's words). */
export function parseLoggingQuery(query: URLSearchParams): { change: LoggingChange } | { error: string } {
  const params = new Map(query);
  if (params.size === 0) return { change: {} };
  if (params.size !== 1) return { error: 'invalid number of parameters' };
  const [key, value] = [...params][0]!;
  if (key === 'level') {
    if (!isLogLevel(value)) return { error: 'unknown logger level' };
    return { change: Object.fromEntries(LOGGER_NAMES.map((n) => [n, value])) };
  }
  const pairs: Array<[string, string]> = [];
  if (key === 'paths') {
    for (const pair of value.split(',').filter((p) => p.trim() !== '')) {
      const at = pair.indexOf(':');
      const name = at < 0 ? pair : pair.slice(0, at);
      const level = at < 0 ? '' : pair.slice(at + 1);
      if (name === '' || level === '') return { error: 'empty logger name or empty logger level' };
      pairs.push([name, level]);
    }
  } else pairs.push([key, value]);
  const change: LoggingChange = {};
  for (const [name, level] of pairs) {
    if (!isLogLevel(level)) return { error: 'unknown logger level' };
    if (!isLoggerName(name)) return { error: 'unknown logger name' };
    change[name] = level;
  }
  return { change };
}

/** Envoy's usage text after a refused change. */
export function loggingUsage(error: string): string {
  return (
    `error: ${error}\n\n` +
    'usage: /logging?<name>=<level> (change single level)\n' +
    'usage: /logging?paths=name1:level1,name2:level2,... (change multiple levels)\n' +
    'usage: /logging?level=<level> (change all levels)\n' +
    `levels: ${LOG_LEVELS.map((l) => `${l} `).join('')}\n`
  );
}

/** Envoy's list of loggers and their levels. */
export function renderLoggers(levels: Record<LoggerName, LogLevel>): string {
  return `active loggers:\n${LOGGER_NAMES.map((n) => `  ${n}: ${levels[n]}\n`).join('')}\n`;
}
