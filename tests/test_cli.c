/* The command line end to end, as a user runs it: a short training run
 * (files it writes, ffprobe on its GIFs), resume through --resume auto giving
 * the same weights as an uninterrupted run, SIGINT/SIGTERM stopping with a
 * checkpoint and exit 130/143, SIGKILL leaving a log of whole lines, sampling to GIF/PNG/grid/latent walk/.npy, and
 * clear errors for corrupt checkpoints and unknown options. Runs the
 * vidgan binary of the same build as this test (<build>/tests/test_cli ->
 * <build>/vidgan), so the sanitizer build checks the sanitized CLI. */
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/safetensors.h"
#include "test.h"
#include "cli_run.h"

static const char *SMALL = "--size 16 --frames 8 --g-base 8 --d-base 8 --z-dim 16 --batch 4 --sample-n 4 --threads 2";

static int exists(const char *fmt, ...) {
    char path[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof path, fmt, ap);
    va_end(ap);
    struct stat st;
    return stat(path, &st) == 0;
}

/* Frames of a video file according to ffprobe, -1 on failure. */
static int ffprobe_frames(const char *path) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 '%s'", path);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    int n = -1;
    if (fscanf(p, "%d", &n) != 1) n = -1;
    pclose(p);
    return n;
}

static int count_lines(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    int n = 0, c;
    while ((c = fgetc(f)) != EOF) n += c == '\n';
    fclose(f);
    return n;
}

/* 1 if the file is not empty and every line of it is a whole JSON record
 * ("{...}\n"): no step left half-written in a buffer. */
static int whole_lines(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int c, prev = '\n', at_start = 1, ok = 1, any = 0;
    while ((c = fgetc(f)) != EOF) {
        if (at_start && c != '{') ok = 0;
        if (c == '\n' && prev != '}') ok = 0;
        at_start = c == '\n';
        prev = c;
        any = 1;
    }
    fclose(f);
    return ok && any && prev == '\n';
}

/* Starts a long training run, waits for it to log 3 lines, sends sig; a
 * caught signal ends the run with a checkpoint, SIGKILL without one, and
 * either way the log holds only whole lines. */
static void check_signal(int sig, int want_rc) {
    char dir[300], log[400];
    snprintf(dir, sizeof dir, "%s/sig%d", tmp, sig);
    snprintf(log, sizeof log, "%s/metrics.jsonl", dir);
    pid_t pid = fork();
    if (pid == 0) {
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "exec %s train %s --steps 100000 --sample-every 0 --ckpt-every 0 --out %s > %s/sig.txt 2>&1",
                 vidgan, SMALL, dir, tmp);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    int lines = 0;
    for (int i = 0; i < 600 && lines < 3; i++) {
        usleep(50000);
        lines = count_lines(log);
    }
    CHECK(lines >= 3, "signal %d: the run logged %d lines before the signal", sig, lines);
    kill(pid, sig);
    int status;
    waitpid(pid, &status, 0);
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    CHECK(rc == want_rc, "signal %d: exit %d, want %d", sig, rc, want_rc);
    int logged = count_lines(log);
    CHECK(whole_lines(log), "signal %d: metrics.jsonl holds whole lines only (%d)", sig, logged);
    if (sig != SIGKILL)
        CHECK(exists("%s/ckpt-%08d.safetensors", dir, logged), "signal %d: checkpoint of step %d written", sig, logged);
}

int main(int argc, char **argv) {
    (void)argc;
    if (!cli_setup(argv[0], "cli")) {
        CHECK(0, "mkdtemp");
        TEST_END();
    }
    CHECK(run("ffprobe -version") == 0, "ffprobe is needed (scripts/setup.sh installs ffmpeg)");

    /* a straight run of 6 steps */
    int rc = run("%s train %s --steps 6 --ckpt-every 3 --sample-every 3 --out %s/a", vidgan, SMALL, tmp);
    CHECK(rc == 0, "train exit %d", rc);
    CHECK(output_has("run folder:"), "train names the run folder at the end");
    CHECK(exists("%s/a/ckpt-00000003.safetensors", tmp) && exists("%s/a/ckpt-00000006.safetensors", tmp), "checkpoints at 3, 6");
    char path[600];
    snprintf(path, sizeof path, "%s/a/metrics.jsonl", tmp);
    CHECK(count_lines(path) == 6, "metrics.jsonl has one line per step (%d)", count_lines(path));
    CHECK(run("grep -c '\"precision\":\"fp32\"' %s | grep -qx 6", path) == 0, "every metrics line records precision fp32");
    snprintf(path, sizeof path, "%s/a/samples/final.gif", tmp);
    CHECK(ffprobe_frames(path) == 8, "sample grid GIF has 8 frames (ffprobe: %d)", ffprobe_frames(path));

    /* stop after 3, resume to 6: the same weights, moments and EMA */
    rc = run("%s train %s --steps 3 --ckpt-every 3 --sample-every 0 --out %s/b", vidgan, SMALL, tmp);
    CHECK(rc == 0, "first half exit %d", rc);
    rc = run("%s train %s --steps 6 --ckpt-every 3 --sample-every 0 --resume auto --out %s/b", vidgan, SMALL, tmp);
    CHECK(rc == 0 && output_has("resuming from"), "resume exit %d", rc);
    char a6[600], b6[600];
    snprintf(a6, sizeof a6, "%s/a/ckpt-00000006.safetensors", tmp);
    snprintf(b6, sizeof b6, "%s/b/ckpt-00000006.safetensors", tmp);
    CHECK(same_tensors(a6, b6), "3 + 3 steps with a resume give bit-identical tensors to 6 straight");
    snprintf(path, sizeof path, "%s/b/metrics.jsonl", tmp);
    CHECK(count_lines(path) == 6, "resumed log has 6 lines (%d)", count_lines(path));

    /* signals */
    check_signal(SIGINT, 130);
    check_signal(SIGTERM, 143);
    check_signal(SIGKILL, 137);

    /* sampling */
    rc = run("%s sample --ckpt %s --n 4 --seed 7 --grid -o %s/grid.gif", vidgan, a6, tmp);
    snprintf(path, sizeof path, "%s/grid.gif", tmp);
    CHECK(rc == 0 && ffprobe_frames(path) == 8, "sample --grid: exit %d, %d frames", rc, ffprobe_frames(path));
    rc = run("%s sample --ckpt %s --n 3 -o %s/one.gif", vidgan, a6, tmp);
    snprintf(path, sizeof path, "%s/one_002.gif", tmp);
    CHECK(rc == 0 && ffprobe_frames(path) == 8, "sample one GIF per video: exit %d", rc);
    rc = run("%s sample --ckpt %s --n 2 --interp 3 --grid -o %s/walk.gif", vidgan, a6, tmp);
    snprintf(path, sizeof path, "%s/walk.gif", tmp);
    CHECK(rc == 0 && ffprobe_frames(path) == 24, "latent walk of 3 steps has 24 frames (%d)", ffprobe_frames(path));
    rc = run("%s sample --ckpt %s --n 2 -o %s/frames/", vidgan, a6, tmp);
    CHECK(rc == 0 && exists("%s/frames/video_001/frame_0007.png", tmp) && !exists("%s/frames/video_001/frame_0008.png", tmp),
          "PNG frames: exit %d", rc);
    /* .npy: float32 (N, T, H, W, C) in [0, 1], the same pixels as the PNG
     * frames of the same seed (ffmpeg decodes those; PNG rounds to 1/255) */
    rc = run("%s sample --ckpt %s --n 2 -o %s/clips.npy", vidgan, a6, tmp);
    CHECK(rc == 0, "sample -o clips.npy: exit %d", rc);
    snprintf(path, sizeof path, "%s/clips.npy", tmp);
    FILE *npy = fopen(path, "rb");
    static unsigned char buf[128 + 2 * 8 * 16 * 16 * 3 * 4 + 1];
    size_t got = npy ? fread(buf, 1, sizeof buf, npy) : 0;
    if (npy) fclose(npy);
    const char *want_hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 8, 16, 16, 3), }";
    CHECK(got == 128 + 2 * 8 * 16 * 16 * 3 * 4 && memcmp(buf, "\x93NUMPY\x01\x00", 8) == 0 && buf[8] == 118 && buf[9] == 0 &&
              memcmp(buf + 10, want_hdr, strlen(want_hdr)) == 0 && buf[127] == '\n',
          "clips.npy: a NumPy 1.0 header for float32 (2, 8, 16, 16, 3), data at byte 128 (%zu bytes)", got);
    if (got == 128 + 2 * 8 * 16 * 16 * 3 * 4) {
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "ffmpeg -loglevel error -i %s/frames/video_001/frame_0005.png -f rawvideo -pix_fmt rgb24 -", tmp);
        FILE *pf = popen(cmd, "r");
        unsigned char rgb[16 * 16 * 3 + 1]; /* one more: a frame with a border would not fit */
        size_t nrgb = pf ? fread(rgb, 1, sizeof rgb, pf) : 0;
        if (pf) pclose(pf);
        CHECK(nrgb == 16 * 16 * 3, "video 1 frame 5 is a 16x16 PNG, no grid border (%zu bytes)", nrgb);
        double worst = 0;
        for (size_t i = 0; i < nrgb; i++) {
            float v;
            memcpy(&v, buf + 128 + ((size_t)(1 * 8 + 5) * 16 * 16 * 3 + i) * 4, 4);
            double d = fabs(v * 255.0 - rgb[i]);
            worst = d > worst ? d : worst;
        }
        CHECK(nrgb == 16 * 16 * 3 && worst <= 0.5 + 1e-3, "clips.npy video 1 frame 5 matches its PNG within rounding (worst %.3f / 255)",
              worst);
    }
    rc = run("%s sample --ckpt %s --n 2 --grid -o %s/grid.npy 2>/dev/null", vidgan, a6, tmp);
    CHECK(rc == 2, "--grid with .npy refused: exit %d", rc);

    /* the same seed gives the same GIF; another seed another */
    rc = run("%s sample --ckpt %s --n 4 --seed 7 --grid -o %s/grid2.gif && cmp -s %s/grid.gif %s/grid2.gif", vidgan, a6, tmp,
             tmp, tmp);
    CHECK(rc == 0, "sampling is reproducible");

    /* bad input */
    run("head -c 5000 %s > %s/trunc.safetensors; head -c 3000 /dev/urandom > %s/noise.safetensors", a6, tmp, tmp);
    rc = run("%s sample --ckpt %s/trunc.safetensors -o %s/x.gif", vidgan, tmp, tmp);
    CHECK(rc != 0 && output_has("trunc.safetensors"), "truncated checkpoint: exit %d, message names the file", rc);
    rc = run("%s sample --ckpt %s/noise.safetensors -o %s/x.gif", vidgan, tmp, tmp);
    CHECK(rc != 0 && output_has("noise.safetensors"), "random-bytes checkpoint: exit %d", rc);
    CHECK(!exists("%s/x.gif", tmp), "no output written after a failed load");
    rc = run("%s train --stesp 5", vidgan);
    CHECK(rc == 2 && output_has("did you mean --steps"), "unknown option suggests the nearest: exit %d", rc);
    rc = run("%s train %s --data nosuch --steps 1 --out %s/c", vidgan, SMALL, tmp);
    CHECK(rc != 0 && output_has("nosuch"), "unknown data set: exit %d", rc);
    /* bf16 mixed precision is for the GPU only; the precision must be one we have */
    rc = run("%s train %s --precision bf16 --steps 1 --out %s/p", vidgan, SMALL, tmp);
    CHECK(rc == 2 && output_has("bf16 mixed precision needs --device cuda"), "train --precision bf16 on the CPU: exit %d",
          rc);
    CHECK(!exists("%s/p", tmp), "no run folder made for a refused precision");
    rc = run("%s train %s --precision fp16 --steps 1 --out %s/p", vidgan, SMALL, tmp);
    CHECK(rc == 2 && output_has("--precision must be fp32 or bf16, got 'fp16'"), "unknown precision: exit %d", rc);
    rc = run("%s train %s --loss hinge --label-smooth 0.1 --steps 1 --out %s/p", vidgan, SMALL, tmp);
    CHECK(rc == 2 && output_has("label smoothing needs a loss with targets") && !exists("%s/p", tmp),
          "label smoothing with hinge refused before a run folder is made: exit %d", rc);
    rc = run("%s train %s --instance-noise -0.5 --steps 1 --out %s/p", vidgan, SMALL, tmp);
    CHECK(rc == 2 && output_has("instance noise must be a finite std >= 0"), "negative instance noise: exit %d", rc);
    /* the noise falls to 0 at --steps unless --noise-steps says otherwise
     * (-1: constant, stored as 0); the checkpoint records what was used */
    const char *noise_cases[][2] = {{"", "2"}, {"--noise-steps -1", "0"}, {"--noise-steps 7", "7"}};
    for (int i = 0; i < 3; i++) {
        rc = run("%s train %s --instance-noise 0.1 --label-smooth 0.2 %s --steps 2 --sample-every 0 --ckpt-every 2 --out %s/n%d"
                 " && grep -c 'noise_steps.\\{1,3\\}:%s}' %s/n%d/ckpt-00000002.safetensors"
                 " && grep -c 'label_smooth.\\{1,3\\}:0.2,' %s/n%d/ckpt-00000002.safetensors",
                 vidgan, SMALL, noise_cases[i][0], tmp, i, noise_cases[i][1], tmp, i, tmp, i);
        CHECK(rc == 0, "instance noise '%s': the checkpoint stores noise_steps %s and label_smooth 0.2 (exit %d)",
              noise_cases[i][0], noise_cases[i][1], rc);
    }
    /* model and penalty options that do not fit together: refused before a
     * run folder is made; trained, MoCoGAN's longer latent vectors reach
     * sampling, the latent walk and the checkpoint, as do the sprite's */
    const char *refusals[][2] = {
        {"--motion-dim -1", "motion_dim must be in [0, 1024], got -1"},
        {"--mask-l1 0.1", "the mask penalty needs the two-stream generator"},
        {"--motion-dim 3 --sprite", "the sprite generator needs two_stream and motion_dim > 0"},
        {"--motion-dim 3 --two-stream --path-l1 0.5", "the path penalty needs the sprite generator"},
        {"--motion-still", "motion_still needs a motion GRU"},
    };
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        rc = run("%s train %s %s --steps 1 --out %s/p", vidgan, SMALL, refusals[i][0], tmp);
        CHECK(rc == 2 && output_has(refusals[i][1]) && !exists("%s/p", tmp),
              "%s refused before a run folder is made: exit %d", refusals[i][0], rc);
    }
    rc = run("%s train %s --motion-dim 3 --two-stream --mask-l1 0.05 --steps 2 --sample-every 0 --ckpt-every 2 --out %s/mo"
             " && grep -c 'motion_dim.\\{1,3\\}:3' %s/mo/ckpt-00000002.safetensors"
             " && grep -c 'mask_l1.\\{1,3\\}:0.05' %s/mo/ckpt-00000002.safetensors",
             vidgan, SMALL, tmp, tmp, tmp);
    CHECK(rc == 0, "train --motion-dim 3 --mask-l1 0.05: exit %d, motion_dim 3 and mask_l1 0.05 in the checkpoint", rc);
    rc = run("%s train %s --motion-dim 3 --two-stream --sprite --motion-still --path-l1 0.25 --steps 2 --sample-every 0"
             " --ckpt-every 2 --out %s/spr && grep -c 'sprite.\\{1,3\\}:1' %s/spr/ckpt-00000002.safetensors"
             " && grep -c 'motion_still.\\{1,3\\}:1' %s/spr/ckpt-00000002.safetensors"
             " && grep -c 'path_l1.\\{1,3\\}:0.25' %s/spr/ckpt-00000002.safetensors"
             " && %s sample --ckpt %s/spr/ckpt-00000002.safetensors --n 2 --seed 3 -o %s/spr.gif",
             vidgan, SMALL, tmp, tmp, tmp, tmp, vidgan, tmp, tmp);
    snprintf(path, sizeof path, "%s/spr_000.gif", tmp);
    CHECK(rc == 0 && ffprobe_frames(path) == 8,
          "train --sprite --motion-still --path-l1 0.25: exit %d, all three in the checkpoint, %d sampled frames (want 8)", rc,
          ffprobe_frames(path));
    snprintf(path, sizeof path, "%s/mo-walk.gif", tmp);
    rc = run("%s sample --ckpt %s/mo/ckpt-00000002.safetensors --n 2 --interp 3 --grid -o %s", vidgan, tmp, path);
    CHECK(rc == 0 && ffprobe_frames(path) == 24, "motion model latent walk: exit %d, %d frames (want 3 x 8)", rc,
          ffprobe_frames(path));
    rc = run("%s sample --ckpt %s --precision bf16 -o %s/p.gif", vidgan, a6, tmp);
    CHECK(rc == 2 && output_has("bf16 mixed precision needs --device cuda") && !exists("%s/p.gif", tmp),
          "sample --precision bf16 on the CPU: exit %d", rc);

    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    CHECK(system(cmd) == 0, "cleanup");
    TEST_END();
}
