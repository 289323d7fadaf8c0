/* tricachectl secret generate --file F: the cluster secret Raft peers prove
 * to each other (cluster_secret_file, raft/transport.h): 32 random bytes
 * written as 64 hex digits and a newline, in a new file of mode 0600. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "ctl_commands.h"

#define SECRET_BYTES 32

static int generate(const char *file)
{
    unsigned char raw[SECRET_BYTES];
    char text[2 * SECRET_BYTES + 2];
    if (RAND_bytes(raw, sizeof raw) != 1) {
        fprintf(stderr, "tricachectl: secret generate: no random bytes from OpenSSL\n");
        return CTL_EXIT_CLUSTER;
    }
    for (size_t i = 0; i < sizeof raw; i++) snprintf(text + 2 * i, 3, "%02x", raw[i]);
    text[2 * SECRET_BYTES] = '\n';
    text[2 * SECRET_BYTES + 1] = '\0';
    OPENSSL_cleanse(raw, sizeof raw);
    /* O_EXCL: replacing the secret of a running cluster cuts its nodes off
     * from each other, so an existing file is never overwritten */
    int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "tricachectl: secret generate: %s: %s\n", file, strerror(errno));
        if (errno == EEXIST)
            fprintf(stderr, "  hint: a secret is changed with the whole cluster stopped; remove the old file "
                            "first if that is what you mean\n");
        OPENSSL_cleanse(text, sizeof text);
        return CTL_EXIT_CLUSTER;
    }
    size_t len = strlen(text);
    int ok = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
    int saved = errno;
    close(fd);
    OPENSSL_cleanse(text, sizeof text);
    if (!ok) {
        unlink(file);
        fprintf(stderr, "tricachectl: secret generate: writing %s: %s\n", file, strerror(saved));
        return CTL_EXIT_CLUSTER;
    }
    char abs[PATH_MAX];
    if (!realpath(file, abs)) snprintf(abs, sizeof abs, "%s", file);
    printf("created cluster secret %s (64 hex digits, mode 0600)\n", abs);
    printf("next:\n"
           "  1. copy it to every node (mode 0600, owned by the user tricache runs as);\n"
           "  2. set cluster_secret_file = \"%s\" in cluster.toml (the path on each node);\n"
           "  3. stop every node, then start them all: nodes with different secrets, or without one,\n"
           "     refuse each other, so there is no rolling change.\n",
           abs);
    return CTL_EXIT_OK;
}

int ctl_cmd_secret(const ctl_backup_args *a, int argc, char **argv)
{
    if (argc == 1 && strcmp(argv[0], "generate") == 0) {
        if (!a->file) {
            fprintf(stderr, "tricachectl: secret generate needs --file FILE, the new secret file\n");
            return CTL_EXIT_USAGE;
        }
        return generate(a->file);
    }
    fprintf(stderr, "tricachectl: secret wants generate --file FILE\n");
    return CTL_EXIT_USAGE;
}
