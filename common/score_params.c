/*
 * score_params: the score parameters from the settings table (common/config.c), whose defaults are the only
 * copy of every number.
 */
#include "score.h"
#include "score_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- parameters */

/* The defaults are the settings table's (common/config.c): one copy of every number. */
void score_params_default(struct score_params *p)
{
    struct config *cfg = config_new();
    char err[256];
    if (!cfg || score_params_from_config(cfg, p, err, sizeof err) < 0)
        memset(p, 0, sizeof *p); /* out of memory: the caller's config load fails the same way */
    config_destroy(&cfg);
}

static int score_value_index(const char *name)
{
    for (int j = 0; j < SCORE_VALUES; j++)
        if (strcmp(event_behaviour_keys[j], name) == 0)
            return j;
    return -1;
}

int score_params_from_config(const struct config *cfg, struct score_params *p, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    p->achievement_cap = config_double(cfg, "score.achievement_cap");
    p->hk_above = config_double(cfg, "score.hk_above");
    p->hk_meets = config_double(cfg, "score.hk_meets");
    p->pk_above = config_double(cfg, "score.pk_above");
    p->pk_meets = config_double(cfg, "score.pk_meets");
    p->w_hasil = config_double(cfg, "score.w_hasil");
    p->w_perilaku = config_double(cfg, "score.w_perilaku");
    p->ikm_min_responses = (int)config_int(cfg, "score.ikm_min_responses");
    p->version_min_delta = config_double(cfg, "score.version_min_delta");
    p->weight[SCORE_GROUP_SUPERVISOR] = config_double(cfg, "weight.supervisor");
    p->weight[SCORE_GROUP_PEER] = config_double(cfg, "weight.peer");
    p->weight[SCORE_GROUP_SUBORDINATE] = config_double(cfg, "weight.subordinate");
    p->weight[SCORE_GROUP_CITIZEN] = config_double(cfg, "weight.citizen");
    p->weight[SCORE_GROUP_SELF] = config_double(cfg, "weight.self");
    p->kiosk_misuse = config_bool(cfg, "fairness.kiosk_misuse");
    p->kiosk_repeat_s = (int)config_int(cfg, "fairness.kiosk_repeat_s");
    p->rater_effects = config_bool(cfg, "fairness.rater_effects");
    p->leniency_min = config_double(cfg, "fairness.leniency_min");
    p->robust_location = config_bool(cfg, "fairness.robust_location");
    p->credibility = config_bool(cfg, "fairness.credibility");
    p->credibility_k = config_double(cfg, "fairness.credibility_k");
    p->calibration = config_bool(cfg, "fairness.calibration");
    p->calibration_delta = config_double(cfg, "fairness.calibration_delta");
    p->calibration_z = config_double(cfg, "fairness.calibration_z");
    p->citizen_offset = config_bool(cfg, "fairness.citizen_offset");
    p->calibration_factor = config_double(cfg, "fairness.calibration_factor");
    p->anonymity_min = (int)config_int(cfg, "fairness.anonymity_min");
    p->training_threshold = config_double(cfg, "training.threshold");

    if (p->hk_meets > p->hk_above) {
        snprintf(err, errlen, "score.hk_meets (%g) must not exceed score.hk_above (%g)", p->hk_meets,
                 p->hk_above);
        return -1;
    }
    if (p->pk_meets > p->pk_above) {
        snprintf(err, errlen, "score.pk_meets (%g) must not exceed score.pk_above (%g)", p->pk_meets,
                 p->pk_above);
        return -1;
    }

    size_t iter = 0;
    const char *key, *value;
    while (config_section_next(cfg, "training", &iter, &key, &value) == 0) {
        int j = score_value_index(key);
        if (j < 0) {
            snprintf(err, errlen, "training.%s: not a BerAKHLAK value (%s, %s, ...)", key,
                     event_behaviour_keys[0], event_behaviour_keys[1]);
            return -1;
        }
        if (strlen(value) >= SCORE_COURSE_MAX) {
            snprintf(err, errlen, "training.%s: course title longer than %d bytes", key,
                     SCORE_COURSE_MAX - 1);
            return -1;
        }
        snprintf(p->course[j], SCORE_COURSE_MAX, "%s", value);
    }
    return 0;
}
