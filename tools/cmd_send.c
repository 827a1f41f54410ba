/*
 * kinerja send [FILE|-] [--timeout S]: JSON Lines events -> msgpack -> the broker, in
 * pipelined batches, with retries (tools/sender.c). Last line on stdout:
 * `sent=N accepted=A duplicate=D rejected=R`; rejection reasons on stderr; exit 1 when
 * any event got no final ack. A pipe that pauses is no broker delay: what was read
 * goes out at once (a shorter frame), and the sender's clocks run from the sending.
 */
#include "cli.h"
#include "clientkeys.h"
#include "event_json.h"
#include "sender.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SEND_DEFAULT_TIMEOUT_S 60
#define SEND_DEFAULT_BATCH 500
#define SEND_DEFAULT_WINDOW 8
#define SEND_REPLY_TIMEOUT_MS 5000
#define SEND_MAX_REPORTED 1000 /* rejection lines printed before summarising */
#define SEND_READ_CHUNK 65536  /* bytes asked of read(2) at a time */
#define SEND_LINE_SLACK 4096   /* trailing blanks a line may carry beyond intake.max_frame_bytes */

/* The input, read with read(2) into buf (never through stdio), so that a pipe with
 * nothing more to give right now is told apart from one that ended: what was read goes
 * out while the writer pauses (SENDER_NEXT_WAIT). */
struct send_input {
    FILE *in;
    int fd;
    const char *name;
    char *buf;              /* cap + 1 bytes: room for the NUL of a last line */
    size_t start, len, cap; /* buf[start..len): read and not yet taken */
    bool eof;
    bool skipping; /* inside a line too long to keep: dropped up to its newline */
    long lineno;
    size_t max_line;
    size_t local_rejected; /* lines that are not JSON: never sent */
    size_t reported;
};

static void report_rejection(struct send_input *si, long line, const char *id, const char *error)
{
    if (si->reported++ < SEND_MAX_REPORTED)
        fprintf(stderr, "%s:%ld: rejected%s%s: %s\n", si->name, line, id && *id ? " " : "", id ? id : "",
                error);
    else if (si->reported == SEND_MAX_REPORTED + 1)
        fprintf(stderr, "%s: more rejections not shown\n", si->name);
}

/*
 * The next line (its newline removed, NUL-terminated inside si->buf) in *line and *n.
 * Returns 1; 0 at the end of the input; SENDER_NEXT_WAIT when no whole line can be had
 * without waiting; -1 on a read error (reported). A line longer than max_line +
 * SEND_LINE_SLACK is rejected as soon as that is known and dropped as it arrives, so
 * the buffer stays within max_line + SEND_LINE_SLACK + SEND_READ_CHUNK bytes.
 */
static int read_line(struct send_input *si, char **line, size_t *n)
{
    for (;;) {
        char *from = si->buf + si->start;
        size_t avail = si->len - si->start;
        char *nl = avail ? memchr(from, '\n', avail) : NULL;
        if (nl) {
            *nl = '\0';
            si->start += (size_t)(nl - from) + 1;
            if (si->skipping) { /* the end of a line already rejected */
                si->skipping = false;
                continue;
            }
            si->lineno++;
            *line = from;
            *n = (size_t)(nl - from);
            return 1;
        }
        if (si->skipping) {
            si->start = si->len;
            avail = 0;
        } else if (avail > si->max_line + SEND_LINE_SLACK) {
            si->lineno++;
            si->local_rejected++;
            report_rejection(si, si->lineno, NULL, "line longer than intake.max_frame_bytes");
            si->skipping = true;
            continue;
        }
        if (si->eof) {
            if (!avail)
                return 0;
            from[avail] = '\0'; /* a last line without its newline */
            si->start = si->len;
            si->lineno++;
            *line = from;
            *n = avail;
            return 1;
        }
        if (si->start) {
            memmove(si->buf, from, avail);
            si->start = 0;
            si->len = avail;
        }
        if (si->cap - si->len < SEND_READ_CHUNK) {
            char *b = realloc(si->buf, si->len + SEND_READ_CHUNK + 1);
            if (!b) {
                fprintf(stderr, "kinerja send: %s: out of memory\n", si->name);
                return -1;
            }
            si->buf = b;
            si->cap = si->len + SEND_READ_CHUNK;
        }
        struct pollfd pfd = {.fd = si->fd, .events = POLLIN};
        int ready = poll(&pfd, 1, 0);
        if (ready == 0)
            return SENDER_NEXT_WAIT;
        if (ready < 0 && errno == EINTR)
            continue;
        ssize_t got = read(si->fd, si->buf + si->len, si->cap - si->len);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return SENDER_NEXT_WAIT;
            fprintf(stderr, "kinerja send: %s: %s\n", si->name, strerror(errno));
            return -1;
        }
        if (got == 0)
            si->eof = true;
        si->len += (size_t)got;
    }
}

static int next_event(void *ctx, struct sender_item *out)
{
    struct send_input *si = ctx;
    for (;;) {
        char *text;
        size_t len;
        int got = read_line(si, &text, &len);
        if (got != 1)
            return got;
        ssize_t n = (ssize_t)len;
        char *line = text;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
            line[--n] = '\0';
        size_t skip = strspn(line, " \t");
        if ((size_t)n == skip)
            continue; /* blank line */
        if ((size_t)n > si->max_line) {
            si->local_rejected++;
            report_rejection(si, si->lineno, NULL, "line longer than intake.max_frame_bytes");
            continue;
        }
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        char err[512];
        if (event_json_to_msgpack(line, (size_t)n, &pk, err, sizeof err) < 0) {
            msgpack_sbuffer_destroy(&sb);
            si->local_rejected++;
            report_rejection(si, si->lineno, NULL, err);
            continue;
        }
        out->data = sb.data; /* ownership passes to the sender */
        out->len = sb.size;
        out->tag = si->lineno;
        sender_extract_id(out->data, out->len, out->id, sizeof out->id);
        return 1;
    }
}

static void on_ack(void *ctx, const struct sender_item *item, enum sender_status st, const char *error,
                   double latency_ms)
{
    struct send_input *si = ctx;
    (void)latency_ms;
    if (st == SENDER_REJECTED)
        report_rejection(si, item->tag, item->id, error);
    else if (st == SENDER_UNACKED && si->reported++ < SEND_MAX_REPORTED)
        fprintf(stderr, "%s:%ld: no final ack%s%s: %s\n", si->name, item->tag, *item->id ? " for " : "",
                item->id, error);
}

static void send_usage(FILE *out)
{
    fprintf(out,
            "usage: kinerja send [FILE|-] [--timeout S] [--batch N] [--window W] [--endpoint E]\n"
            "  Sends JSON Lines events (one event object per line) to the broker as msgpack,\n"
            "  in pipelined batches; `retry` acks and timeouts are resent with backoff.\n"
            "  FILE       input (default -: standard input)\n"
            "  --timeout  seconds an event may wait for its final ack, from its first sending\n"
            "             (default %d; time spent waiting for the input does not count)\n"
            "  --batch    events per frame (default %d, at most intake.max_batch)\n"
            "  --window   frames in flight (default %d)\n"
            "  --endpoint broker endpoint (default intake.endpoint)\n"
            "Last line: sent=N accepted=A duplicate=D rejected=R. Exit 1 if any event got no\n"
            "final ack, 2 on usage errors.\n",
            SEND_DEFAULT_TIMEOUT_S, SEND_DEFAULT_BATCH, SEND_DEFAULT_WINDOW);
}

static int parse_positive(const char *opt, const char *s, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v <= 0 || v > max) {
        fprintf(stderr, "kinerja send: %s: must be a whole number 1..%ld, got '%s'\n", opt, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cmd_send(struct cli *cli, int argc, char **argv)
{
    const char *path = "-";
    long timeout_s = SEND_DEFAULT_TIMEOUT_S, batch = SEND_DEFAULT_BATCH, window = SEND_DEFAULT_WINDOW;
    const char *endpoint = config_str(cli->cfg, "intake.endpoint");
    bool have_path = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            send_usage(stdout);
            return CLI_OK;
        } else if ((!strcmp(a, "--timeout") || !strcmp(a, "--batch") || !strcmp(a, "--window") ||
                    !strcmp(a, "--endpoint")) &&
                   i + 1 < argc) {
            const char *v = argv[++i];
            if (!strcmp(a, "--endpoint"))
                endpoint = v;
            else if (parse_positive(a, v, 1000000,
                                    !strcmp(a, "--timeout") ? &timeout_s
                                    : !strcmp(a, "--batch") ? &batch
                                                            : &window) < 0)
                return CLI_USAGE;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "kinerja send: unknown option '%s'\n", a);
            send_usage(stderr);
            return CLI_USAGE;
        } else if (!have_path) {
            path = a;
            have_path = true;
        } else {
            fprintf(stderr, "kinerja send: only one input file\n");
            return CLI_USAGE;
        }
    }
    long max_batch = config_int(cli->cfg, "intake.max_batch");
    if (batch > max_batch)
        batch = max_batch;

    struct send_input si = {.name = path};
    si.max_line = (size_t)config_int(cli->cfg, "intake.max_frame_bytes");
    if (!strcmp(path, "-")) {
        si.in = stdin;
        si.name = "stdin";
    } else if (!(si.in = fopen(path, "r"))) {
        fprintf(stderr, "kinerja send: %s: %s\n", path, strerror(errno));
        return CLI_FAIL;
    }
    si.fd = fileno(si.in);
    si.cap = SEND_READ_CHUNK;
    if (!(si.buf = malloc(si.cap + 1))) {
        fprintf(stderr, "kinerja send: out of memory\n");
        if (si.in != stdin)
            fclose(si.in);
        return CLI_FAIL;
    }

    struct sender_opts opts = {
        .endpoint = endpoint,
        .batch = (size_t)batch,
        .window = (size_t)window,
        .max_frame = (size_t)config_int(cli->cfg, "intake.max_frame_bytes"),
        .timeout_ms = (int)(timeout_s * 1000),
        .reply_timeout_ms =
            SEND_REPLY_TIMEOUT_MS < timeout_s * 1000 ? SEND_REPLY_TIMEOUT_MS : (int)(timeout_s * 1000),
        .progress = isatty(STDERR_FILENO),
        .poll_input = true,
        .input_fd = si.fd,
    };
    struct sender_counts c;
    char err[512];
    struct clientkeys keys;
    if (clientkeys_load(cli->cfg, &keys, err, sizeof err) != 0) {
        fprintf(stderr, "kinerja send: %s\n", err);
        if (si.in != stdin)
            fclose(si.in);
        free(si.buf);
        return CLI_FAIL;
    }
    clientkeys_apply(&keys, &opts);
    int rc = sender_run(&opts, next_event, on_ack, &si, &c, err, sizeof err);
    clientkeys_clear(&keys);
    if (si.in != stdin)
        fclose(si.in);
    free(si.buf);
    if (rc < 0) {
        fprintf(stderr, "kinerja send: %s\n", err);
        return CLI_FAIL;
    }
    if (c.unacked)
        fprintf(
            stderr,
            "kinerja send: %zu events got no final ack from %s (resend the same file: ids make it safe)\n",
            c.unacked, endpoint);
    printf("sent=%zu accepted=%zu duplicate=%zu rejected=%zu\n", c.sent + si.local_rejected, c.accepted,
           c.duplicate, c.rejected + si.local_rejected);
    return c.unacked ? CLI_FAIL : CLI_OK;
}
