/*
 * rcluster: a Redis Cluster client over hiredis 0.14 (synchronous redisContext, RESP2),
 * for redis.cluster = true (issue 17). The broker, the workers and the CLI call it where
 * they would call one redisContext: it holds the slot map (CLUSTER SLOTS), one lazily
 * made connection per master, follows MOVED and ASK, waits out TRYAGAIN, CLUSTERDOWN and
 * a failover, and pipelines per node.
 *
 *   seeds      redis.url = redis://[[user]:password@]host:port[,host:port...][/0]; the
 *              credentials apply to every node; a cluster has database 0 only.
 *   slot       CRC16 (XMODEM) of the key, or of its {hash tag}, mod 16384; the stream
 *              keys kinerja:ev:{N} keep a shard in one slot (rstream.h).
 *   map        slot -> master "host:port" as CLUSTER SLOTS says; read at connect, again
 *              on MOVED and after a lost node, from any reachable known node or seed.
 *
 * Resending: a command that got MOVED, ASK, TRYAGAIN or CLUSTERDOWN did not run, and is
 * resent. A connection lost after a command was written leaves its outcome unknown: it
 * is resent only when the caller says so (RCLUSTER_RESEND_SAFE: an idempotent command);
 * a pipe never resends those, it reports them (rcluster_pipe_reply).
 *
 * Not thread-safe: one struct rcluster per thread. Writes to a closed socket raise
 * SIGPIPE, which the process must ignore (daemon_install_signals does). Error texts
 * and log lines name hosts and ports, never the password.
 */
#ifndef KINERJA_RCLUSTER_H
#define KINERJA_RCLUSTER_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RCLUSTER_SLOTS 16384
#define RCLUSTER_SEEDS_MAX 16
#define RCLUSTER_NODES_MAX 1024 /* nodes one slot map may name (Redis: about 1000 at most) */
#define RCLUSTER_HOST_MAX 256
#define RCLUSTER_ADDR_MAX (RCLUSTER_HOST_MAX + 8) /* "host:port", "[v6]:port" */
#define RCLUSTER_USER_MAX 128
#define RCLUSTER_PASSWORD_MAX 256
#define RCLUSTER_NO_OWNER UINT16_MAX         /* rcluster_map.owner of a slot no master serves */
#define RCLUSTER_REDIRECTS_MAX 8             /* MOVED/ASK one command may follow */
#define RCLUSTER_RETRY_MS_DEFAULT 5000       /* see rcluster_set_retry_ms */
#define RCLUSTER_PIPE_COMMANDS_MAX (1 << 20) /* commands one pipe may hold */

/* ---- slots */

/* CRC16/XMODEM (poly 0x1021, init 0), as the cluster spec's key hashing. */
unsigned rcluster_crc16(const char *buf, size_t len);

/* The slot of a key: the CRC16 of the text between the first '{' and the first '}'
 * after it, when that text is not empty; else of the whole key. */
unsigned rcluster_key_slot(const char *key, size_t len);

/* ---- seeds */

struct rcluster_addr {
    char host[RCLUSTER_HOST_MAX];
    int port;
};

struct rcluster_seeds {
    struct rcluster_addr seed[RCLUSTER_SEEDS_MAX];
    size_t count;
    char user[RCLUSTER_USER_MAX]; /* ACL user; empty: AUTH with the password alone */
    char password[RCLUSTER_PASSWORD_MAX];
};

/* redis://[[user]:password@]host[:port][,host[:port]...][/0]: each seed as
 * rstream_parse_url reads a URL (port 6379 by default, [v6] literals, %XX in the
 * userinfo); spaces around a comma are ignored. Refuses a database other than 0, an
 * empty seed and more than RCLUSTER_SEEDS_MAX seeds. Returns 0, or -1 with the reason
 * (never the password) in err. */
int rcluster_parse_seeds(const char *url, struct rcluster_seeds *out, char *err, size_t errlen);

/* "host:port", or "[host]:port" when host holds a ':' (IPv6). */
void rcluster_format_addr(const struct rcluster_addr *a, char *out, size_t outlen);

/* ---- the slot map */

struct rcluster_map_node {
    struct rcluster_addr addr;
    char name[RCLUSTER_ADDR_MAX]; /* rcluster_format_addr(addr) */
    bool master;                  /* serves slots; a replica is kept as a node to ask for the map */
};

struct rcluster_map {
    struct rcluster_map_node *nodes; /* masters and replicas, in the reply's order */
    size_t count, cap;
    size_t masters;
    unsigned covered;               /* slots with an owner */
    uint16_t owner[RCLUSTER_SLOTS]; /* index into nodes, or RCLUSTER_NO_OWNER */
};

/* Sets every slot to RCLUSTER_NO_OWNER and no nodes (map may be uninitialised). */
void rcluster_map_init(struct rcluster_map *map);
void rcluster_map_free(struct rcluster_map *map);

/* Reads a CLUSTER SLOTS reply into map (initialised here): [[start, end, [host, port,
 * id...] (the master), [host, port...] (replicas)...]...]. An empty host means
 * from_host, the node that answered. Fails (-1, err, map left empty) on a malformed
 * reply, a port out of range, an unknown endpoint ("?"), a slot given to two masters,
 * or more than RCLUSTER_NODES_MAX nodes. Slots no range names are left without an
 * owner: the caller checks map->covered. Free a parsed map with rcluster_map_free. */
int rcluster_map_parse(const redisReply *slots, const char *from_host, struct rcluster_map *map, char *err,
                       size_t errlen);

/* ---- redirects */

enum rcluster_redirect_kind { RCLUSTER_REDIRECT_MOVED, RCLUSTER_REDIRECT_ASK };

struct rcluster_redirect {
    enum rcluster_redirect_kind kind;
    unsigned slot;
    struct rcluster_addr to; /* host "" when Redis sent ":port": the node that answered */
};

/* Parses the text of an error reply ("MOVED 3999 127.0.0.1:6381", "ASK 3999 h:p"; an
 * IPv6 host is everything before the last ':'). Returns 1 and fills out when msg is a
 * well-formed redirect, 0 when it is not one (any other error, or a malformed one). */
int rcluster_parse_redirect(const char *msg, size_t len, struct rcluster_redirect *out);

/* ---- the client */

struct rcluster;

/* Flags of rcluster_command_argv. */
#define RCLUSTER_RESEND_SAFE 0x1u /* idempotent: resend after a connection lost mid-command */

/* What happened so far; the bench and the metrics read it. */
struct rcluster_stats {
    unsigned long long moved, ask; /* redirects followed */
    unsigned long long refreshes;  /* slot maps read after the first */
    unsigned long long retries;    /* TRYAGAIN / CLUSTERDOWN / lost node waited out */
    unsigned long long lost;       /* connections to a node that failed in use */
    unsigned long long connects;   /* node connections made */
};

/* Reads the seeds from url, connects to the first that answers (timeout_ms for the
 * connect and every command, AUTH as the URL says), reads the slot map and keeps that
 * connection when the seed is a master. Returns NULL with the reason when no seed
 * answers, when a seed is not in cluster mode ("redis.cluster = true but h:p is not a
 * cluster node"), or when no seed's map covers all 16384 slots. */
struct rcluster *rcluster_connect(const char *url, int timeout_ms, char *err, size_t errlen);

/* Closes every connection, wipes the credentials, frees; sets *rc = NULL. */
void rcluster_destroy(struct rcluster **rc);

/* How long one command keeps retrying, from its first attempt, through a node that
 * cannot be reached (waiting for a failover to promote a replica), TRYAGAIN and
 * CLUSTERDOWN; at least the connect timeout. Default RCLUSTER_RETRY_MS_DEFAULT. Set it
 * above cluster-node-timeout plus the election for a command to outlive a failover. */
void rcluster_set_retry_ms(struct rcluster *rc, int retry_ms);

/* Re-reads the slot map from a connected master, else any node of the map, else a
 * seed; takes the first map that covers every slot. Keeps the connections of nodes that
 * are still masters, closes the others. Returns 0, or -1 with the reason (the old map
 * is kept). */
int rcluster_refresh(struct rcluster *rc, char *err, size_t errlen);

size_t rcluster_master_count(const struct rcluster *rc);

/* The connection to the master of slot, connected now if need be; owned by rc, valid
 * until the next call into rc. NULL with the reason when the node cannot be reached.
 * A context left with its err set is closed and remade at its next use. */
redisContext *rcluster_node(struct rcluster *rc, unsigned slot, char *err, size_t errlen);

/* Calls fn(context, "host:port", arg) for every master in map order, connecting as
 * needed; fn must not call into rc. Stops at the first fn that returns non-zero and
 * returns that value; -1 with the reason when a master cannot be reached; else 0. */
int rcluster_each_master(struct rcluster *rc, int (*fn)(redisContext *c, const char *addr, void *arg),
                         void *arg, char *err, size_t errlen);

/* Sends one command to the master of slot and returns its reply (which may be an error
 * reply: WRONGTYPE, NOSCRIPT...; the caller frees it), following up to
 * RCLUSTER_REDIRECTS_MAX redirects: MOVED refreshes the map and resends; ASK sends
 * ASKING and the command to the named node, the map unchanged; TRYAGAIN, CLUSTERDOWN
 * and a node that cannot be reached are retried within the retry time (a lost node
 * after a refresh). A connection lost after the command was written is retried only
 * with RCLUSTER_RESEND_SAFE in flags; else NULL with "outcome unknown" in err. */
redisReply *rcluster_command_argv(struct rcluster *rc, unsigned slot, int argc, const char **argv,
                                  const size_t *lens, unsigned flags, char *err, size_t errlen);

void rcluster_get_stats(const struct rcluster *rc, struct rcluster_stats *out);

/* ---- per-node pipelines
 *
 * Append commands, then exec: they are grouped by the master of their slot, written to
 * every node first, then the replies read node by node, and handed back in append
 * order. A reply that is MOVED, ASK, TRYAGAIN or CLUSTERDOWN is resent alone as
 * rcluster_command_argv does (the command never ran); a node that cannot be reached
 * before anything was written to it has its commands sent alone the same way (retried
 * through a failover). A connection lost while writing or reading leaves that node's
 * commands without a reply from the first unread one on: NULL reply with the reason,
 * outcome unknown; the other nodes' replies are intact.
 *
 * append copies the command (formatted as RESP, one buffer per command), so argv need
 * not outlive the call. A pipe is reused after rcluster_pipe_reset. */
struct rcluster_pipe;

struct rcluster_pipe *rcluster_pipe_new(struct rcluster *rc);
void rcluster_pipe_destroy(struct rcluster_pipe **p);

/* Returns 0, or -1 (out of memory, or RCLUSTER_PIPE_COMMANDS_MAX reached). */
int rcluster_pipe_append(struct rcluster_pipe *p, unsigned slot, int argc, const char **argv,
                         const size_t *lens);
size_t rcluster_pipe_count(const struct rcluster_pipe *p);

/* Runs every appended command once. Returns 0 when each has a reply (some may be error
 * replies), -1 when some have none: err says how many and the first reason. */
int rcluster_pipe_exec(struct rcluster_pipe *p, char *err, size_t errlen);

/* The reply of command i (append order) after exec, owned by the pipe (freed by reset
 * or destroy); NULL when it has none, with the reason in *why if why is not NULL. */
const redisReply *rcluster_pipe_reply(const struct rcluster_pipe *p, size_t i, const char **why);

/* Frees the commands and replies; keeps the capacity. */
void rcluster_pipe_reset(struct rcluster_pipe *p);

#endif
