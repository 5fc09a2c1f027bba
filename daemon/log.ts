// Structured logs: one JSON object per line on stdout (journald keeps it as
// the MESSAGE field and tools can parse it), or a readable line on a TTY.
// Fields are structured, never interpolated into the message. Credential
// material never reaches a log line: known secret fields are redacted here as
// a last line of defence, and callers never pass credentials in the first place.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_FIELDS = /^(secretAccessKey|sessionToken|accessKeyId|aws_secret_access_key|aws_session_token|password)$/i;

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Readable lines instead of JSON; defaults to whether stdout is a terminal. */
  pretty?: boolean;
  write?: (line: string) => void;
  now?: () => Date;
}

function redact(value: unknown, depth = 0): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (value === null || typeof value !== 'object' || depth > 4) return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value))
    out[key] = SECRET_FIELDS.test(key) ? '[redacted]' : redact(v, depth + 1);
  return out;
}

export function createLogger(options: LoggerOptions = {}, bound: LogFields = {}): Logger {
  const threshold = LEVELS[options.level ?? 'info'];
  const pretty = options.pretty ?? Boolean(process.stdout.isTTY);
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const now = options.now ?? (() => new Date());

  const emit = (level: LogLevel, message: string, fields: LogFields = {}) => {
    if (LEVELS[level] < threshold) return;
    const all = redact({ ...bound, ...fields }) as LogFields;
    const time = now();
    if (pretty) {
      const extra = Object.entries(all)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      write(
        `${time.toISOString().slice(11, 19)} ${level.toUpperCase().padEnd(5)} ${message}${extra ? `  ${extra}` : ''}`,
      );
    } else {
      write(JSON.stringify({ time: time.toISOString(), level, msg: message, ...all }));
    }
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(options, { ...bound, ...fields }),
  };
}
