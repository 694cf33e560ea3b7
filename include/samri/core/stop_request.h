#pragma once

#include <csignal>

namespace samri {

// A graceful stop asked for by a signal: SLURM sends SIGUSR1 (with --signal=B:USR1@T) or SIGTERM
// before it preempts or times out a job. Long jobs poll stop_requested() at points where they can
// finish cleanly (a shard boundary), so that a requeued job that reruns the same command continues.
// install_stop_handlers() sets handlers for SIGTERM, SIGUSR1 and SIGINT that only record the
// signal; a second SIGINT or SIGTERM while a stop is pending ends the process at once, unless it
// comes within 2 s of the first (the same request delivered twice, as srun forwards scancel's).
void install_stop_handlers();

bool stop_requested();
// The signal that asked for the stop (0 when none).
int stop_signal();

// For tests and in-process callers: ask for a stop as if `signal` had arrived, or clear it.
void request_stop(int signal);
void clear_stop_request();

}  // namespace samri
