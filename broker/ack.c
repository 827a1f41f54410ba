/*
 * ack: packing replies; see ack.h.
 */
#include "ack.h"

#include "request.h"

#include <string.h>

static const char *const status_names[ACK_STATUS_COUNT] = {"pending", "accepted", "duplicate", "rejected",
                                                           "retry"};

/* Used when an error text could not be allocated. */
#define ACK_ERROR_UNKNOWN "broker: out of memory describing the error"

const char *ack_status_name(enum ack_status s)
{
    return (unsigned)s < ACK_STATUS_COUNT ? status_names[s] : "retry";
}

static int pack_str(msgpack_packer *pk, const char *s, size_t n)
{
    return msgpack_pack_str_with_body(pk, s, n);
}

static int pack_cstr(msgpack_packer *pk, const char *s)
{
    return pack_str(pk, s, strlen(s));
}

/* One ack map. id may be NULL (nil). */
static int pack_ack(msgpack_packer *pk, const char *id, size_t idlen, enum ack_status status,
                    const char *error)
{
    if (status == ACK_PENDING) {
        status = ACK_RETRY;
        error = "storage unavailable: no reply for this event";
    }
    bool with_error = status == ACK_REJECTED || status == ACK_RETRY;
    if (with_error && !error)
        error = ACK_ERROR_UNKNOWN;
    int rc = msgpack_pack_map(pk, with_error ? 3 : 2);
    rc |= pack_cstr(pk, "id");
    rc |= id ? pack_str(pk, id, idlen) : msgpack_pack_nil(pk);
    rc |= pack_cstr(pk, "status");
    rc |= pack_cstr(pk, ack_status_name(status));
    if (with_error) {
        rc |= pack_cstr(pk, "error");
        rc |= pack_cstr(pk, error);
    }
    return rc ? -1 : 0;
}

int ack_pack_reply(const struct request *req, msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    if (req->frame_rejected)
        return pack_ack(&pk, NULL, 0, ACK_REJECTED, req->frame_error);
    if (!req->is_batch) {
        if (req->nevents != 1)
            return pack_ack(&pk, NULL, 0, ACK_REJECTED, "frame: no event");
        const struct request_event *e = &req->events[0];
        return pack_ack(&pk, e->id.p, e->id.n, e->status, e->error);
    }
    if (msgpack_pack_array(&pk, req->nevents) != 0)
        return -1;
    for (size_t i = 0; i < req->nevents; i++) {
        const struct request_event *e = &req->events[i];
        if (pack_ack(&pk, e->id.p, e->id.n, e->status, e->error) != 0)
            return -1;
    }
    return 0;
}
