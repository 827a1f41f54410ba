#include "scoreversion.h"

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCOREVERSION_HASH_BYTES 16
/* Scores are compared as stored and shown, rounded to two decimals; a move of exactly
 * version_min_delta in those figures counts (the slack absorbs binary rounding). */
#define SCOREVERSION_SCORE_DECIMALS 100.0
#define SCOREVERSION_SCORE_EPS 1e-9

static int cmp_u64(uint64_t a, uint64_t b)
{
    return (a > b) - (a < b);
}

static int cmp_dbl(double a, double b)
{
    return (a > b) - (a < b);
}

static int rating_cmp(const void *pa, const void *pb)
{
    const struct scoreversion_rating *a = pa, *b = pb;
    int c;
    if ((c = cmp_u64(a->rater, b->rater)))
        return c;
    if ((c = cmp_u64((uint64_t)a->relation, (uint64_t)b->relation)))
        return c;
    if ((c = memcmp(a->values, b->values, SCORE_VALUES)))
        return c;
    return cmp_u64((uint64_t)a->hasil_kerja, (uint64_t)b->hasil_kerja);
}

static int indicator_cmp(const void *pa, const void *pb)
{
    const struct score_indicator *a = pa, *b = pb;
    int c;
    if ((c = strncmp(a->code, b->code, sizeof a->code)))
        return c;
    if ((c = cmp_dbl(a->target, b->target)))
        return c;
    if ((c = cmp_dbl(a->realization, b->realization)))
        return c;
    if ((c = cmp_dbl(a->weight, b->weight)))
        return c;
    return cmp_u64((uint64_t)a->direction, (uint64_t)b->direction);
}

static void hash_u64(crypto_generichash_state *st, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i)); /* little-endian whatever the host */
    crypto_generichash_update(st, b, sizeof b);
}

static void hash_double(crypto_generichash_state *st, double x)
{
    uint64_t bits;
    if (x == 0)
        x = 0; /* -0.0 and 0.0 are the same input */
    memcpy(&bits, &x, sizeof bits);
    hash_u64(st, bits);
}

int scoreversion_inputs_digest(const struct scoreversion_rating *ratings, size_t n_ratings,
                               const struct score_indicator *indicators, size_t n_indicators,
                               char out[SCOREVERSION_DIGEST_HEX])
{
    struct scoreversion_rating *r = malloc((n_ratings ? n_ratings : 1) * sizeof *r);
    struct score_indicator *ind = malloc((n_indicators ? n_indicators : 1) * sizeof *ind);
    if (!r || !ind) {
        free(r);
        free(ind);
        return -1;
    }
    if (n_ratings)
        memcpy(r, ratings, n_ratings * sizeof *r);
    if (n_indicators)
        memcpy(ind, indicators, n_indicators * sizeof *ind);
    qsort(r, n_ratings, sizeof *r, rating_cmp);
    qsort(ind, n_indicators, sizeof *ind, indicator_cmp);

    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, SCOREVERSION_HASH_BYTES);
    hash_u64(&st, n_ratings);
    for (size_t i = 0; i < n_ratings; i++) {
        hash_u64(&st, r[i].rater);
        hash_u64(&st, (uint64_t)r[i].relation);
        crypto_generichash_update(&st, r[i].values, SCORE_VALUES);
        hash_u64(&st, (uint64_t)r[i].hasil_kerja);
    }
    hash_u64(&st, n_indicators);
    for (size_t i = 0; i < n_indicators; i++) {
        size_t len = strnlen(ind[i].code, sizeof ind[i].code);
        hash_u64(&st, len);
        crypto_generichash_update(&st, (const unsigned char *)ind[i].code, len);
        hash_double(&st, ind[i].target);
        hash_double(&st, ind[i].realization);
        hash_double(&st, ind[i].weight);
        hash_u64(&st, (uint64_t)ind[i].direction);
    }
    unsigned char h[SCOREVERSION_HASH_BYTES];
    crypto_generichash_final(&st, h, sizeof h);
    sodium_bin2hex(out, SCOREVERSION_DIGEST_HEX, h, sizeof h);
    free(r);
    free(ind);
    return 0;
}

enum score_rating scoreversion_rating_of(const char *name)
{
    if (!name)
        return SCORE_RATING_NONE;
    if (!strcmp(name, "above"))
        return SCORE_RATING_ABOVE;
    if (!strcmp(name, "meets"))
        return SCORE_RATING_MEETS;
    if (!strcmp(name, "below"))
        return SCORE_RATING_BELOW;
    return SCORE_RATING_NONE;
}

enum score_predikat scoreversion_predikat_of(const char *code)
{
    for (int p = SCORE_PREDIKAT_SANGAT_BAIK; code && p <= SCORE_PREDIKAT_SANGAT_KURANG; p++)
        if (!strcmp(score_predikat_code((enum score_predikat)p), code))
            return (enum score_predikat)p;
    return SCORE_PREDIKAT_NONE;
}

static const char *predikat_label(enum score_predikat p)
{
    const char *c = score_predikat_code(p);
    return c ? c : "none";
}

bool scoreversion_material(const struct score_params *p, const struct scoreversion_current *cur,
                           const struct score_result *r, const char *inputs_digest, const char *json_digest,
                           char *why, size_t whylen)
{
    why[0] = '\0';
    if (cur->version <= 0) {
        snprintf(why, whylen, "first version");
        return true;
    }
    if (!strcmp(json_digest, cur->json_digest))
        return false; /* the very same result */
    if (!cur->known) {
        snprintf(why, whylen, "result changed (recorded before material versions)");
        return true;
    }
    if (r->predikat != cur->predikat) {
        snprintf(why, whylen, "predikat %s -> %s", predikat_label(cur->predikat),
                 predikat_label(r->predikat));
        return true;
    }
    if (r->hasil != cur->hasil) {
        snprintf(why, whylen, "hasil kerja %s -> %s", score_rating_name(cur->hasil),
                 score_rating_name(r->hasil));
        return true;
    }
    if (r->perilaku_rating != cur->perilaku) {
        snprintf(why, whylen, "perilaku %s -> %s", score_rating_name(cur->perilaku),
                 score_rating_name(r->perilaku_rating));
        return true;
    }
    if (strcmp(inputs_digest, cur->inputs_digest) != 0) {
        snprintf(why, whylen, "inputs changed");
        return true;
    }
    if (r->has_score != cur->has_score) {
        snprintf(why, whylen, r->has_score ? "score now computed" : "score no longer computed");
        return true;
    }
    if (r->has_score) {
        double shown = round(r->score * SCOREVERSION_SCORE_DECIMALS) / SCOREVERSION_SCORE_DECIMALS;
        double moved = fabs(shown - cur->score);
        if (moved + SCOREVERSION_SCORE_EPS >= p->version_min_delta) {
            snprintf(why, whylen, "score moved %.2f", moved);
            return true;
        }
    }
    return false;
}
