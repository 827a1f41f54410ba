/*
 * rcluster: the pure parts of the Redis Cluster client: CRC16 and key slots (the
 * vectors of the cluster spec and of CLUSTER KEYSLOT's documentation), the seed list
 * of redis.url (whose errors must never echo a password), CLUSTER SLOTS replies built
 * by hand as hiredis would hand them over, and MOVED / ASK texts. Talking to a real
 * cluster (redirects, migration, failover) is tests/integration/test_rcluster.py.
 */
#include "rcluster.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static char err[512];

/* ---- hand-built replies */

static redisReply *rr_new(int type)
{
    redisReply *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->type = type;
    return r;
}

static redisReply *rr_int(long long v)
{
    redisReply *r = rr_new(REDIS_REPLY_INTEGER);
    r->integer = v;
    return r;
}

static redisReply *rr_str(const char *s)
{
    redisReply *r = rr_new(REDIS_REPLY_STRING);
    r->str = strdup(s);
    assert_non_null(r->str);
    r->len = strlen(s);
    return r;
}

static redisReply *rr_arr(size_t n, ...)
{
    redisReply *r = rr_new(REDIS_REPLY_ARRAY);
    r->elements = n;
    r->element = calloc(n ? n : 1, sizeof *r->element);
    assert_non_null(r->element);
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        r->element[i] = va_arg(ap, redisReply *);
    va_end(ap);
    return r;
}

/* [host, port, id], as Redis 7 sends a node (plus a map of extras we ignore) */
static redisReply *rr_node(const char *host, long long port, const char *id)
{
    return rr_arr(4, rr_str(host), rr_int(port), rr_str(id), rr_arr(0));
}

static void rr_free(redisReply *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->elements; i++)
        rr_free(r->element[i]);
    free(r->element);
    free(r->str);
    free(r);
}

/* A 3 + 3 cluster as redis-cli --cluster create lays it out. */
static redisReply *three_masters(void)
{
    return rr_arr(
        3,
        rr_arr(4, rr_int(0), rr_int(5460), rr_node("127.0.0.1", 7000, "a"), rr_node("127.0.0.1", 7004, "e")),
        rr_arr(4, rr_int(5461), rr_int(10922), rr_node("127.0.0.1", 7001, "b"),
               rr_node("127.0.0.1", 7005, "f")),
        rr_arr(4, rr_int(10923), rr_int(16383), rr_node("127.0.0.1", 7002, "c"),
               rr_node("127.0.0.1", 7003, "d")));
}

/* ---- slots */

static void test_crc16_vectors(void **state)
{
    (void)state;
    assert_int_equal(rcluster_crc16("123456789", 9), 0x31C3); /* the cluster spec's check value */
    assert_int_equal(rcluster_crc16("", 0), 0);
}

static unsigned slot_of(const char *key)
{
    return rcluster_key_slot(key, strlen(key));
}

/* The cluster spec's bit-by-bit CRC16/XMODEM, to check the table-driven one against. */
static unsigned crc16_bitwise(const unsigned char *p, size_t n)
{
    unsigned crc = 0;
    for (size_t i = 0; i < n; i++) {
        crc ^= (unsigned)p[i] << 8;
        for (int bit = 0; bit < 8; bit++)
            crc = (crc & 0x8000u) ? ((crc << 1) ^ 0x1021u) & 0xFFFFu : (crc << 1) & 0xFFFFu;
    }
    return crc;
}

static void test_crc16_table_is_the_bitwise_crc(void **state)
{
    (void)state;
    unsigned char buf[64];
    unsigned x = 12345;
    for (int round = 0; round < 2000; round++) {
        size_t n = (size_t)(round % 64);
        for (size_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = (unsigned char)(x >> 16);
        }
        assert_int_equal(rcluster_crc16((const char *)buf, n), crc16_bitwise(buf, n));
    }
}

static void test_key_slots(void **state)
{
    (void)state;
    assert_int_equal(slot_of("foo"), 12182);
    assert_int_equal(slot_of("somekey"), 11058);      /* CLUSTER KEYSLOT's examples */
    assert_int_equal(slot_of("foo{hash_tag}"), 2515); /* = slot of "hash_tag" */
    assert_int_equal(slot_of("hash_tag"), 2515);
    assert_int_equal(slot_of("{user1000}.following"), slot_of("{user1000}.followers"));
    assert_int_equal(slot_of("{user1000}.following"), slot_of("user1000"));
    /* "{}" is empty: the whole key is hashed, not "" and not "bar" */
    assert_int_equal(slot_of("foo{}{bar}"), rcluster_crc16("foo{}{bar}", 10) % RCLUSTER_SLOTS);
    assert_int_not_equal(slot_of("foo{}{bar}"), slot_of("bar"));
    /* the first '}' after the first '{' ends the tag: "{bar" */
    assert_int_equal(slot_of("foo{{bar}}zap"), slot_of("{bar"));
    assert_int_equal(slot_of("foo{{bar}}zap"), rcluster_crc16("{bar", 4) % RCLUSTER_SLOTS);
    assert_int_equal(slot_of("foo{bar}{zap}"), slot_of("bar"));
    /* an unclosed tag hashes the whole key */
    assert_int_equal(slot_of("foo{bar"), rcluster_crc16("foo{bar", 7) % RCLUSTER_SLOTS);
    /* the stream shards keep their keys in the slot of "N" */
    assert_int_equal(slot_of("kinerja:ev:{7}"), slot_of("7"));
    /* length is honoured, not the NUL: "foo" within "foobar" */
    assert_int_equal(rcluster_key_slot("foobar", 3), 12182);
}

/* ---- seeds */

static void test_seed_forms(void **state)
{
    (void)state;
    struct rcluster_seeds s;
    assert_int_equal(rcluster_parse_seeds("redis://127.0.0.1:7000", &s, err, sizeof err), 0);
    assert_int_equal(s.count, 1);
    assert_string_equal(s.seed[0].host, "127.0.0.1");
    assert_int_equal(s.seed[0].port, 7000);
    assert_string_equal(s.password, "");

    assert_int_equal(rcluster_parse_seeds("redis://:pw@a:1,b:2, c:3 /0", &s, err, sizeof err), 0);
    assert_int_equal(s.count, 3);
    assert_string_equal(s.seed[0].host, "a");
    assert_string_equal(s.seed[1].host, "b");
    assert_int_equal(s.seed[1].port, 2);
    assert_string_equal(s.seed[2].host, "c"); /* spaces around a comma are dropped */
    assert_int_equal(s.seed[2].port, 3);
    assert_string_equal(s.user, "");
    assert_string_equal(s.password, "pw");

    assert_int_equal(
        rcluster_parse_seeds("redis://kinerja:p%40ss@[::1]:7000,[::1]:7001/", &s, err, sizeof err), 0);
    assert_int_equal(s.count, 2);
    assert_string_equal(s.user, "kinerja");
    assert_string_equal(s.password, "p@ss");
    assert_string_equal(s.seed[1].host, "::1");
    assert_int_equal(s.seed[1].port, 7001);
    char addr[RCLUSTER_ADDR_MAX];
    rcluster_format_addr(&s.seed[1], addr, sizeof addr);
    assert_string_equal(addr, "[::1]:7001");

    assert_int_equal(rcluster_parse_seeds("redis://h1,h2", &s, err, sizeof err), 0);
    assert_int_equal(s.seed[0].port, 6379);
    assert_int_equal(s.seed[1].port, 6379);
}

static void test_seed_bounds(void **state)
{
    (void)state;
    struct rcluster_seeds s;
    char url[1024];
    int n = snprintf(url, sizeof url, "redis://:hunter2@");
    for (int i = 0; i < RCLUSTER_SEEDS_MAX; i++)
        n += snprintf(url + n, sizeof url - (size_t)n, "%sh%d:%d", i ? "," : "", i, 7000 + i);
    assert_int_equal(rcluster_parse_seeds(url, &s, err, sizeof err), 0);
    assert_int_equal(s.count, RCLUSTER_SEEDS_MAX);
    assert_string_equal(s.seed[RCLUSTER_SEEDS_MAX - 1].host, "h15");

    snprintf(url + n, sizeof url - (size_t)n, ",one-too-many:1");
    assert_int_equal(rcluster_parse_seeds(url, &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "at most 16 seeds"));
    assert_null(strstr(err, "hunter2"));
    assert_int_equal(s.count, 0); /* a failed parse leaves nothing, the password neither */
    assert_string_equal(s.password, "");

    /* a host of RCLUSTER_HOST_MAX bytes does not fit (one byte is the NUL) */
    char longhost[RCLUSTER_HOST_MAX + 1];
    memset(longhost, 'h', RCLUSTER_HOST_MAX);
    longhost[RCLUSTER_HOST_MAX] = '\0';
    snprintf(url, sizeof url, "redis://:hunter2@a:1,%s:2", longhost);
    assert_int_equal(rcluster_parse_seeds(url, &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "seed 2"));
    assert_null(strstr(err, "hunter2"));

    /* longer than one seed's URL may be */
    char huge[4096];
    memcpy(huge, "redis://:", 9);
    memset(huge + 9, 'p', sizeof huge - 9 - 8);
    memcpy(huge + sizeof huge - 8, "@a:1,b:", 7);
    huge[sizeof huge - 1] = '\0';
    assert_int_equal(rcluster_parse_seeds(huge, &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "too long"));
}

static void test_seed_errors_never_show_the_password(void **state)
{
    (void)state;
    struct rcluster_seeds s;
    struct {
        const char *url, *says;
    } bad[] = {
        {"http://:hunter2@a:1", "redis://"},
        {"redis://:hunter2@a:1,b:2/3", "database 0 only, got /3"},
        {"redis://:hunter2@a:1/1", "database 0 only"},
        {"redis://:hunter2@a:1,,b:2", "seed 2 is empty"},
        {"redis://:hunter2@a:1,", "seed 2 is empty"},
        {"redis://:hunter2@,a:1", "seed 1 is empty"},
        {"redis://:hunter2@", "seed 1 is empty"},
        {"redis://:hunter2@a:1,b:99999", "seed 2: port must be 1..65535"},
        {"redis://:hunter2@a:1,b:0", "seed 2: port"},
        {"redis://:hunter2@a:1,[::1", "seed 2: unterminated ["},
        {"redis://:hunter2%zz@a:1", "seed 1: malformed"},
        {"redis://:hunter2@a:1/x", "database must be a number"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(rcluster_parse_seeds(bad[i].url, &s, err, sizeof err), -1);
        if (!strstr(err, bad[i].says))
            fail_msg("%s: got \"%s\", expected it to say \"%s\"", bad[i].url, err, bad[i].says);
        assert_null(strstr(err, "hunter2"));
    }
    assert_int_equal(rcluster_parse_seeds(NULL, &s, err, sizeof err), -1);
}

/* ---- the slot map */

static void test_map_three_masters(void **state)
{
    (void)state;
    redisReply *r = three_masters();
    struct rcluster_map *map = malloc(sizeof *map);
    assert_non_null(map);
    assert_int_equal(rcluster_map_parse(r, "127.0.0.1", map, err, sizeof err), 0);
    assert_int_equal(map->covered, RCLUSTER_SLOTS);
    assert_int_equal(map->masters, 3);
    assert_int_equal(map->count, 6); /* replicas are nodes to ask for the map */
    assert_string_equal(map->nodes[map->owner[0]].name, "127.0.0.1:7000");
    assert_string_equal(map->nodes[map->owner[5460]].name, "127.0.0.1:7000");
    assert_string_equal(map->nodes[map->owner[5461]].name, "127.0.0.1:7001");
    assert_string_equal(map->nodes[map->owner[12182]].name, "127.0.0.1:7002"); /* "foo" */
    assert_string_equal(map->nodes[map->owner[16383]].name, "127.0.0.1:7002");
    size_t replicas = 0;
    for (size_t i = 0; i < map->count; i++)
        replicas += !map->nodes[i].master;
    assert_int_equal(replicas, 3);
    rcluster_map_free(map);
    assert_int_equal(map->count, 0);
    free(map);
    rr_free(r);
}

static void test_map_partial_and_empty_host(void **state)
{
    (void)state;
    struct rcluster_map *map = malloc(sizeof *map);
    assert_non_null(map);
    /* a master with a hole between its ranges; "" is the node that answered */
    redisReply *r = rr_arr(2, rr_arr(3, rr_int(0), rr_int(99), rr_node("", 7000, "a")),
                           rr_arr(3, rr_int(200), rr_int(16383), rr_node("", 7000, "a")));
    assert_int_equal(rcluster_map_parse(r, "10.0.0.5", map, err, sizeof err), 0);
    assert_int_equal(map->covered, RCLUSTER_SLOTS - 100);
    assert_int_equal(map->masters, 1);
    assert_int_equal(map->count, 1);
    assert_string_equal(map->nodes[0].name, "10.0.0.5:7000");
    assert_int_equal(map->owner[150], RCLUSTER_NO_OWNER);
    assert_int_equal(map->owner[99], 0);
    rcluster_map_free(map);
    rr_free(r);

    /* an empty reply: a cluster with no slots assigned yet */
    r = rr_arr(0);
    assert_int_equal(rcluster_map_parse(r, "h", map, err, sizeof err), 0);
    assert_int_equal(map->covered, 0);
    rcluster_map_free(map);
    rr_free(r);
    free(map);
}

static void test_map_malformed(void **state)
{
    (void)state;
    struct rcluster_map *map = malloc(sizeof *map);
    assert_non_null(map);
    struct {
        redisReply *reply;
        const char *says;
    } bad[] = {
        {rr_str("OK"), "not an array"},
        {rr_arr(1, rr_arr(2, rr_int(0), rr_int(10))), "entry 1 is not"},
        {rr_arr(1, rr_arr(3, rr_int(10), rr_int(5), rr_node("h", 1, "a"))), "slots 10-5"},
        {rr_arr(1, rr_arr(3, rr_int(0), rr_int(16384), rr_node("h", 1, "a"))), "not within 0-16383"},
        {rr_arr(1, rr_arr(3, rr_int(0), rr_int(1), rr_node("h", 0, "a"))), "port 0 out of range"},
        {rr_arr(1, rr_arr(3, rr_int(0), rr_int(1), rr_node("?", 7000, "a"))), "unknown endpoint"},
        {rr_arr(1, rr_arr(3, rr_int(0), rr_int(1), rr_arr(1, rr_str("h")))), "node 1: not [host, port"},
        {rr_arr(2, rr_arr(3, rr_int(0), rr_int(10), rr_node("h", 1, "a")),
                rr_arr(3, rr_int(10), rr_int(20), rr_node("h", 2, "b"))),
         "slot 10 given to both h:1 and h:2"},
        /* a replica after a good master is checked too */
        {rr_arr(1, rr_arr(4, rr_int(0), rr_int(1), rr_node("h", 1, "a"), rr_node("h", 70000, "b"))),
         "entry 1, node 2: port 70000"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(rcluster_map_parse(bad[i].reply, "h", map, err, sizeof err), -1);
        if (!strstr(err, bad[i].says))
            fail_msg("case %zu: got \"%s\", expected \"%s\"", i, err, bad[i].says);
        assert_int_equal(map->count, 0); /* nothing left to free */
        rr_free(bad[i].reply);
    }
    assert_int_equal(rcluster_map_parse(NULL, "h", map, err, sizeof err), -1);
    free(map);
}

static void test_map_too_many_nodes(void **state)
{
    (void)state;
    /* one slot per master, RCLUSTER_NODES_MAX + 1 masters */
    size_t n = RCLUSTER_NODES_MAX + 1;
    redisReply *r = rr_new(REDIS_REPLY_ARRAY);
    r->elements = n;
    r->element = calloc(n, sizeof *r->element);
    assert_non_null(r->element);
    for (size_t i = 0; i < n; i++) {
        char host[32];
        snprintf(host, sizeof host, "10.0.%zu.%zu", i / 256, i % 256);
        r->element[i] = rr_arr(3, rr_int((long long)i), rr_int((long long)i), rr_node(host, 7000, "x"));
    }
    struct rcluster_map *map = malloc(sizeof *map);
    assert_non_null(map);
    assert_int_equal(rcluster_map_parse(r, "h", map, err, sizeof err), -1);
    assert_non_null(strstr(err, "more than 1024 nodes"));
    free(map);
    rr_free(r);
}

/* ---- redirects */

static int redirect_of(const char *msg, struct rcluster_redirect *rd)
{
    return rcluster_parse_redirect(msg, strlen(msg), rd);
}

static void test_redirects(void **state)
{
    (void)state;
    struct rcluster_redirect rd;
    assert_int_equal(redirect_of("MOVED 3999 127.0.0.1:6381", &rd), 1);
    assert_int_equal(rd.kind, RCLUSTER_REDIRECT_MOVED);
    assert_int_equal(rd.slot, 3999);
    assert_string_equal(rd.to.host, "127.0.0.1");
    assert_int_equal(rd.to.port, 6381);

    assert_int_equal(redirect_of("ASK 16383 redis-2.example:7000", &rd), 1);
    assert_int_equal(rd.kind, RCLUSTER_REDIRECT_ASK);
    assert_int_equal(rd.slot, 16383);
    assert_string_equal(rd.to.host, "redis-2.example");
    assert_int_equal(rd.to.port, 7000);

    /* Redis 7 sends ":port" when it has no endpoint for the node: the one that answered */
    assert_int_equal(redirect_of("MOVED 0 :7002", &rd), 1);
    assert_string_equal(rd.to.host, "");
    assert_int_equal(rd.to.port, 7002);

    /* an IPv6 host is everything before the last ':' */
    assert_int_equal(redirect_of("MOVED 12182 ::1:7001", &rd), 1);
    assert_string_equal(rd.to.host, "::1");
    assert_int_equal(rd.to.port, 7001);

    /* the length is honoured: "MOVED 1 h:70" within a longer buffer */
    assert_int_equal(rcluster_parse_redirect("MOVED 1 h:7000", 12, &rd), 1);
    assert_int_equal(rd.to.port, 70);

    const char *not_redirects[] = {
        "ERR unknown command",
        "MOVED",
        "MOVED ",
        "MOVED 16384 h:1",
        "MOVED x h:1",
        "MOVED 1 h",
        "MOVED 1 h:0",
        "MOVED 1 h:70000",
        "MOVED 1 h:12a",
        "MOVEDX 1 h:1",
        "ASK 1",
        "TRYAGAIN Multiple keys request during rehashing of slot",
        "CLUSTERDOWN The cluster is down",
        "moved 1 h:1",
    };
    for (size_t i = 0; i < sizeof not_redirects / sizeof not_redirects[0]; i++)
        if (redirect_of(not_redirects[i], &rd) != 0)
            fail_msg("\"%s\" taken for a redirect", not_redirects[i]);
}

/* ---- connecting (nothing listens: the reasons, never the password) */

static void test_connect_no_seed_answers(void **state)
{
    (void)state;
    struct rcluster *rc = rcluster_connect("redis://:hunter2@127.0.0.1:1,127.0.0.1:2", 500, err, sizeof err);
    assert_null(rc);
    assert_non_null(strstr(err, "no seed"));
    assert_non_null(strstr(err, "127.0.0.1:1"));
    assert_non_null(strstr(err, "127.0.0.1:2"));
    assert_null(strstr(err, "hunter2"));
    rcluster_destroy(&rc); /* NULL is fine */

    assert_null(rcluster_connect("redis://:hunter2@127.0.0.1:1/2", 500, err, sizeof err));
    assert_non_null(strstr(err, "database 0 only"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc16_vectors),     cmocka_unit_test(test_crc16_table_is_the_bitwise_crc),
        cmocka_unit_test(test_key_slots),         cmocka_unit_test(test_seed_forms),
        cmocka_unit_test(test_seed_bounds),       cmocka_unit_test(test_seed_errors_never_show_the_password),
        cmocka_unit_test(test_map_three_masters), cmocka_unit_test(test_map_partial_and_empty_host),
        cmocka_unit_test(test_map_malformed),     cmocka_unit_test(test_map_too_many_nodes),
        cmocka_unit_test(test_redirects),         cmocka_unit_test(test_connect_no_seed_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
