/* master_cli.c - see master_cli.h. */
#include "haproxy/master_cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "haproxy/supervisor.h"

#define MASTER_CLI_TIMEOUT_S 5

/* Connects to the unix socket path with send/receive timeouts; fd or -1. */
static int connect_unix(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path)) {
        snprintf(err, errlen, "master CLI socket path too long: %s", path);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    const struct timeval tv = {MASTER_CLI_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        snprintf(err, errlen, "cannot connect to the master CLI %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int master_cli_reload(const char *socket_path, const char *haproxy_bin, const char *cfg, char *err,
                      size_t errlen)
{
    if (haproxy_check_config(haproxy_bin, cfg, err, errlen) < 0)
        return -1;
    int fd = connect_unix(socket_path, err, errlen);
    if (fd < 0)
        return -1;
    static const char cmd[] = "reload\n";
    if (send(fd, cmd, sizeof(cmd) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(cmd) - 1)) {
        snprintf(err, errlen, "master CLI %s: send: %s", socket_path, strerror(errno));
        close(fd);
        return -1;
    }
    /* HAProxy 2.6 closes the connection when the master re-executes; newer
     * versions first answer "Success=1" or "Success=0" with the startup
     * messages. Read what comes, until the close. */
    char reply[4096];
    size_t len = 0;
    while (len < sizeof(reply) - 1) {
        ssize_t n = recv(fd, reply + len, sizeof(reply) - 1 - len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    reply[len] = '\0';
    if (strstr(reply, "Success=0")) {
        char *nl = strchr(reply, '\n');
        snprintf(err, errlen, "HAProxy refused the reload: %.300s", nl ? nl + 1 : reply);
        return -1;
    }
    return 0;
}
