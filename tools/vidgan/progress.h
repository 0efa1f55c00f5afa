/* Training progress for people: a one-line bar redrawn in place on a
 * terminal, or plain periodic log lines when stderr is not a terminal. */
#ifndef VG_CLI_PROGRESS_H
#define VG_CLI_PROGRESS_H

#include <stdint.h>

typedef struct progress {
    int tty;           /* stderr is a terminal */
    int64_t total;     /* steps to reach */
    int64_t start;     /* step at start (resume) */
    double t_start;    /* seconds */
    double t_last_draw;
    int log_every;     /* non-terminal: a line every N steps */
} progress;

double now_seconds(void);
void progress_init(progress *p, int64_t start, int64_t total, int log_every);
/* step = steps completed */
void progress_update(progress *p, int64_t step, double loss_d, double loss_g, double d_real, double d_fake,
                     int64_t skipped);
/* Ends the bar line (terminal) before other output. */
void progress_break(progress *p);
double progress_rate(const progress *p, int64_t step);

#endif
