/*
 * spop_codec.h - the SPOP codec (HAProxy's SPOE protocol, SPOE.txt, v2.0):
 * pure functions over caller-owned byte buffers, no I/O, no allocation.
 *
 * An agent connection goes like this (error paths return the status code to
 * put in an AGENT-DISCONNECT, see spop_status.h):
 *
 *   size_t need;
 *   st = spop_frame_peek(rx, rx_len, max_frame_size, &need);    // prefix
 *   if (rx_len < need) wait for more bytes;
 *   st = spop_frame_decode(rx + SPOP_FRAME_LEN_SIZE, need - SPOP_FRAME_LEN_SIZE, &f);
 *   st = spop_reasm_feed(&reasm, &f, &g, &ev);                   // fragments
 *   switch (g.type) {
 *   case SPOP_FRAME_HAPROXY_HELLO:
 *       spop_haproxy_hello_decode(&g, &hello);
 *       spop_hello_negotiate(&hello, &limits, &agent_hello);
 *       spop_agent_hello_encode(&w, &agent_hello);               // close if healthcheck
 *   case SPOP_FRAME_NOTIFY:
 *       spop_notify_decode(&g, &n);
 *       for (spop_message_iter_init(&mi, &n); spop_message_next(&mi, &m);)
 *           while (spop_kv_next(&m.args, &kv)) ...;
 *       mark = spop_ack_begin(&w, n.stream_id, n.frame_id);
 *       spop_ack_set_var(&w, SPOP_SCOPE_TRANSACTION, "backend", &value);
 *       spop_ack_end(&w, mark);
 *   case SPOP_FRAME_HAPROXY_DISCONNECT:
 *       spop_disconnect_decode(&g, &d);
 *       spop_disconnect_encode(&w, SPOP_FRAME_AGENT_DISCONNECT, SPOP_STATUS_NORMAL, NULL);
 *   }
 *
 * Decoded strings point into the received buffer (or the reassembly
 * storage), so they live as long as the frame does.
 */
#ifndef SPOKE_SPOP_CODEC_H
#define SPOKE_SPOP_CODEC_H

#include "spoe/spop_ack.h"
#include "spoe/spop_buf.h"
#include "spoe/spop_data.h"
#include "spoe/spop_disconnect.h"
#include "spoe/spop_fragment.h"
#include "spoe/spop_frame.h"
#include "spoe/spop_hello.h"
#include "spoe/spop_notify.h"
#include "spoe/spop_status.h"
#include "spoe/spop_varint.h"

#endif
