/* Progress bar / log lines; see progress.h. */
#include "progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void progress_init(progress *p, int64_t start, int64_t total, int log_every) {
    p->tty = isatty(fileno(stderr));
    p->total = total;
    p->start = start;
    p->t_start = now_seconds();
    p->t_last_draw = 0;
    p->log_every = log_every > 0 ? log_every : 50;
}

double progress_rate(const progress *p, int64_t step) {
    double dt = now_seconds() - p->t_start;
    return dt > 0 ? (double)(step - p->start) / dt : 0;
}

static void format_time(char *buf, size_t n, double s) {
    if (s < 0 || s > 1e7) {
        snprintf(buf, n, "--:--");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

void progress_update(progress *p, int64_t step, double loss_d, double loss_g, double d_real, double d_fake,
                     int64_t skipped) {
    double rate = progress_rate(p, step);
    char eta[32], elapsed[32];
    format_time(eta, sizeof eta, rate > 0 ? (double)(p->total - step) / rate : -1);
    format_time(elapsed, sizeof elapsed, now_seconds() - p->t_start);
    if (p->tty) {
        double t = now_seconds();
        if (step < p->total && t - p->t_last_draw < 0.1) return;
        p->t_last_draw = t;
        int width = 24, filled = p->total > 0 ? (int)((double)width * (double)step / (double)p->total) : 0;
        char bar[32];
        for (int i = 0; i < width; i++) bar[i] = i < filled ? '=' : (i == filled ? '>' : ' ');
        bar[width] = '\0';
        fprintf(stderr, "\r%7lld/%lld [%s] %.2f it/s ETA %s | D %.3f G %.3f | D(x) %.2f D(G(z)) %.2f%s  ",
                (long long)step, (long long)p->total, bar, rate, eta, loss_d, loss_g, d_real, d_fake,
                skipped ? " | skipped" : "");
        fflush(stderr);
    } else if (step % p->log_every == 0 || step == p->total) {
        fprintf(stderr, "step %lld/%lld  %.2f it/s  elapsed %s  ETA %s  loss_D %.4f  loss_G %.4f  D(x) %.3f  D(G(z)) %.3f  skipped %lld\n",
                (long long)step, (long long)p->total, rate, elapsed, eta, loss_d, loss_g, d_real, d_fake,
                (long long)skipped);
    }
}

void progress_break(progress *p) {
    if (p->tty) fputc('\n', stderr);
}
