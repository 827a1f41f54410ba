#include "lasterr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lasterr_init(struct lasterr *m, size_t cap)
{
    m->slots = calloc(cap, sizeof *m->slots);
    m->cap = m->slots ? cap : 0;
    m->next = 0;
    return m->slots ? 0 : -1;
}

void lasterr_free(struct lasterr *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = 0;
}

/* Linear: the map only holds entries that failed, and is read once per dead letter. */
static struct lasterr_slot *find(const struct lasterr *m, unsigned shard, const char *stream_id)
{
    for (size_t i = 0; i < m->cap; i++) {
        struct lasterr_slot *s = &m->slots[i];
        if (s->stream_id[0] && s->shard == shard && strcmp(s->stream_id, stream_id) == 0)
            return s;
    }
    return NULL;
}

void lasterr_put(struct lasterr *m, unsigned shard, const char *stream_id, const char *text)
{
    if (m->cap == 0)
        return;
    struct lasterr_slot *s = find(m, shard, stream_id);
    if (!s) {
        s = &m->slots[m->next];
        m->next = (m->next + 1) % m->cap;
        s->shard = shard;
        snprintf(s->stream_id, sizeof s->stream_id, "%s", stream_id);
    }
    snprintf(s->text, sizeof s->text, "%s", text);
}

const char *lasterr_get(const struct lasterr *m, unsigned shard, const char *stream_id)
{
    const struct lasterr_slot *s = find(m, shard, stream_id);
    return s ? s->text : NULL;
}

void lasterr_forget(struct lasterr *m, unsigned shard, const char *stream_id)
{
    struct lasterr_slot *s = find(m, shard, stream_id);
    if (s)
        s->stream_id[0] = '\0';
}
