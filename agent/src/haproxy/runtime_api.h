/*
 * runtime_api.h - an asynchronous client for HAProxy's runtime API, the CLI
 * of the stats socket (management.txt 9.3 "Unix Socket commands"), on a
 * libev loop.
 *
 * One persistent connection in interactive mode: the first line sent is
 * "prompt", after which HAProxy keeps the connection open and ends every
 * answer with an empty line and the prompt "> ". Commands are written as
 * soon as they are queued (pipelined) and answered strictly in order, so
 * each answer is matched to the oldest command still waiting.
 *
 * Framing, as observed on 2.6 and as management.txt 9.3 promises ("haproxy
 * uses the empty line as a delimiter to mark an end of output for each
 * command, and takes care of ensuring that no command can emit an empty line
 * on output"):
 *     "prompt\n"               ->  "\n> "
 *     "show map\n"             ->  "# id (file) ...\n0 (...) ...\n" "\n> "
 *     "set map M k v\n"        ->  "\n> "                  (no output)
 *     "add map @1 M <<\n" "k v\n" "\n"
 *                              ->  "+ " "+ " "\n> "        (one "+ " per line
 *                                                           read in payload mode)
 * An answer ends at the first empty line followed by a prompt: up to 32
 * bytes without a newline, ending in "> " (2.6 prints just "> "; newer
 * releases may decorate it, e.g. with a timestamp). The "+ " payload prompts
 * are skipped. The callback gets the output without the final empty line.
 *
 * Failure model: when the connection fails, is closed by HAProxy, or a
 * command is not answered before its deadline, the connection is closed and
 * every command still waiting fails (its effect on HAProxy is unknown; later
 * commands may depend on earlier ones, so none is replayed). The next command
 * reconnects, after a backoff that grows from reconnect_min_delay to
 * reconnect_max_delay while connections keep failing.
 *
 * Idle connections: HAProxy closes an idle CLI connection after "stats
 * timeout" (10 s by default). To avoid racing it, the client closes its own
 * connection after idle_close seconds without a command (default 5 s); keep
 * idle_close below the socket's "stats timeout".
 *
 * Callbacks always run from the loop, never from inside runtime_api_send*().
 * A callback may queue new commands and may free the client.
 */
#ifndef SPOKE_HAPROXY_RUNTIME_API_H
#define SPOKE_HAPROXY_RUNTIME_API_H

#include <stddef.h>

#include <ev.h>

struct runtime_api;

/* Called once per command. On success err is 0 and answer/len is HAProxy's
 * output (NUL-terminated, "" for commands that print nothing; an error
 * message from HAProxy is still a success at this level). On failure err is
 * a negative errno and answer is "":
 *   -ETIMEDOUT     this command's deadline passed
 *   -ECONNABORTED  another command timed out, so the connection was dropped
 *   -ECONNRESET    HAProxy closed the connection (restart, crash, kill)
 *   -ECONNREFUSED, -ENOENT, ...   connecting failed
 *   -EMSGSIZE      the answer was larger than max_answer
 *   -EPROTO        the bytes received do not follow the framing above
 *   -ECANCELED     the client was freed */
typedef void (*runtime_api_cb)(void *user, const char *answer, size_t len, int err);

struct runtime_api_config {
    /* "/run/haproxy/admin.sock", "unix@PATH", "127.0.0.1:9999",
     * "ipv4@127.0.0.1:9999" or "[::1]:9999". Numeric addresses only. */
    const char *address;
    double command_timeout;     /* seconds from queueing to answer (10) */
    double reconnect_min_delay; /* first backoff after a failure (0.1 s) */
    double reconnect_max_delay; /* backoff cap (5 s) */
    double idle_close;          /* close after this many idle seconds (5); <= 0: never */
    size_t max_answer;          /* bytes (16 MiB) */
    /* Longest command line + payload accepted (15 KiB): HAProxy reads a whole
     * command with its payload into one tune.bufsize buffer (16384 by default)
     * and closes the connection when it does not fit. */
    size_t max_request;
};

/* Fills cfg with the defaults above and address = NULL. */
void runtime_api_config_defaults(struct runtime_api_config *cfg);

/* Creates a client; it connects on the first command. Returns NULL with a
 * reason in err if the address cannot be parsed. */
struct runtime_api *runtime_api_new(struct ev_loop *loop, const struct runtime_api_config *cfg,
                                    char *err, size_t errlen);

/* Closes the connection; every command still waiting fails with -ECANCELED.
 * Safe to call from a callback. */
void runtime_api_free(struct runtime_api *api);

/* Queues one command line (no trailing newline; build it with cli_escape.h).
 * Returns 0, or a negative errno without calling cb:
 *   -EINVAL    empty, a control character, an unescaped ';', a trailing
 *              backslash or "<<", or "prompt"/"quit" (they would break the
 *              session)
 *   -EMSGSIZE  longer than max_request
 *   -ENOMEM */
int runtime_api_send(struct runtime_api *api, const char *command, runtime_api_cb cb, void *user);

/* Queues a command with a payload (management.txt 9.3: the line ends with
 * " <<", payload lines follow, an empty line ends them); " <<" and the final
 * empty line are added here. payload is lines separated by '\n' (a final
 * '\n' is optional); it must not contain an empty line nor a control
 * character other than '\n' and '\t' (-EINVAL). */
int runtime_api_send_payload(struct runtime_api *api, const char *command, const char *payload,
                             size_t payload_len, runtime_api_cb cb, void *user);

/* The general form: payload may be NULL; timeout <= 0 means command_timeout. */
struct runtime_api_request {
    const char *command;
    const char *payload;
    size_t payload_len;
    double timeout;
};
int runtime_api_submit(struct runtime_api *api, const struct runtime_api_request *req,
                       runtime_api_cb cb, void *user);

/* Commands queued and not yet answered. */
size_t runtime_api_pending(const struct runtime_api *api);

/* Closes the connection now; the next command opens a new one. After a
 * reload, the old worker process still holds the old connection: this makes
 * the next command reach the new worker. Commands still waiting fail with
 * -ECONNRESET (their callbacks run inside this call). */
void runtime_api_disconnect(struct runtime_api *api);

/* 1 when the connection is up and in interactive mode. */
int runtime_api_connected(const struct runtime_api *api);

struct runtime_api_stats {
    unsigned long connects;    /* connections that reached interactive mode */
    unsigned long disconnects; /* connections lost or refused with commands waiting */
    unsigned long answered;    /* commands answered */
    unsigned long failed;      /* commands failed (any err) */
};
void runtime_api_get_stats(const struct runtime_api *api, struct runtime_api_stats *out);

/* For tests and tools only: queues the command and runs the loop until its
 * answer arrives. Returns err (0 or negative errno); on success *answer is a
 * malloc'd NUL-terminated copy for the caller to free. */
int runtime_api_call_sync(struct runtime_api *api, const char *command, const char *payload,
                          size_t payload_len, char **answer, size_t *len);

#endif
