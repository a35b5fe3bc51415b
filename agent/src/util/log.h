/*
 * log.h - the agent's logger: one line per event, text or JSON, to stderr.
 *
 * log_msg(LOG_INFO, "watch", "restarted %s after %d s", ...) prints
 *   2026-01-01T00:00:00.000Z info  watch: restarted ingresses after 2 s
 * or, with --log-format json,
 *   {"ts":"...","level":"info","component":"watch","msg":"restarted ..."}
 */
#ifndef SPOKE_LOG_H
#define SPOKE_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

void log_set_level(enum log_level level);
void log_set_format(enum log_format format);
/* Parse "debug|info|warn|error" / "text|json"; return -1 on an unknown name. */
int log_parse_level(const char *s, enum log_level *out);
int log_parse_format(const char *s, enum log_format *out);
int log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(c, ...) log_msg(LOG_DEBUG, c, __VA_ARGS__)
#define log_info(c, ...)  log_msg(LOG_INFO, c, __VA_ARGS__)
#define log_warn(c, ...)  log_msg(LOG_WARN, c, __VA_ARGS__)
#define log_error(c, ...) log_msg(LOG_ERROR, c, __VA_ARGS__)

#endif
