// SPDX-License-Identifier: GPL-2.0
/*
 * The one file that instantiates kvisor's tracepoints (core/trace.h):
 * the events, their tracefs formats and their print functions; and the
 * one tracepoint the backends reach, through a call, since they include
 * no header of the core's but vendor.h.
 */
#include "core/kvisor.h"

#define CREATE_TRACE_POINTS
#include "core/trace.h"

void kvisor_trace_reinject(u32 event)
{
	u32 type = KVISOR_EVT_TYPE(event);

	if (type == KVISOR_EVT_EXTINT || type == KVISOR_EVT_SOFTINT)
		trace_kvm_inj_virq(event & 0xff, type == KVISOR_EVT_SOFTINT,
				   true);
}
