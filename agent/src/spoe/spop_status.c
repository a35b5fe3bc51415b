/* spop_status.c - names and messages of the SPOP status codes; see spop_status.h. */
#include "spoe/spop_status.h"

#include <stddef.h>

struct status_text {
    const char *name;
    const char *message;
};

static const struct status_text status_texts[] = {
    [SPOP_STATUS_NORMAL] = {"normal", "normal (no error occurred)"},
    [SPOP_STATUS_IO] = {"io", "I/O error"},
    [SPOP_STATUS_TIMEOUT] = {"timeout", "a timeout occurred"},
    [SPOP_STATUS_TOO_BIG] = {"too-big", "frame is too big"},
    [SPOP_STATUS_INVALID] = {"invalid", "invalid frame received"},
    [SPOP_STATUS_NO_VERSION] = {"no-version", "version value not found"},
    [SPOP_STATUS_NO_FRAME_SIZE] = {"no-frame-size", "max-frame-size value not found"},
    [SPOP_STATUS_NO_CAPABILITIES] = {"no-capabilities", "capabilities value not found"},
    [SPOP_STATUS_BAD_VERSION] = {"bad-version", "unsupported version"},
    [SPOP_STATUS_BAD_FRAME_SIZE] = {"bad-frame-size", "max-frame-size too big or too small"},
    [SPOP_STATUS_FRAG_NOT_SUPPORTED] = {"frag-not-supported",
                                        "payload fragmentation is not supported"},
    [SPOP_STATUS_INTERLACED_FRAMES] = {"interlaced-frames", "invalid interlaced frames"},
    [SPOP_STATUS_FRAME_ID_NOT_FOUND] = {"frame-id-not-found",
                                        "frame-id not found (it does not match any referenced "
                                        "frame)"},
    [SPOP_STATUS_RESOURCE] = {"resource", "resource allocation error"},
};

static const struct status_text unknown_text = {"unknown", "an unknown error occurred"};
static const struct status_text unassigned_text = {"unassigned", "unassigned status code"};

static const struct status_text *lookup(uint32_t code)
{
    if (code < sizeof(status_texts) / sizeof(status_texts[0]))
        return &status_texts[code];
    if (code == SPOP_STATUS_UNKNOWN)
        return &unknown_text;
    return &unassigned_text;
}

bool spop_status_is_known(uint32_t code)
{
    return lookup(code) != &unassigned_text;
}

const char *spop_status_name(uint32_t code)
{
    return lookup(code)->name;
}

const char *spop_status_message(uint32_t code)
{
    return lookup(code)->message;
}
