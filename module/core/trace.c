// SPDX-License-Identifier: GPL-2.0
/*
 * The one file that instantiates kvisor's tracepoints (core/trace.h):
 * the events, their tracefs formats and their print functions.
 */
#include "core/kvisor.h"

#define CREATE_TRACE_POINTS
#include "core/trace.h"
