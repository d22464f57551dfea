/* Progress and cancellation of the vips operations, as a C host of libvips sees them:
 *
 *   test_cancel PLUGIN MODEL IN MASK
 *
 * 1. progress: fcs_inpaint emits preeval, one eval per outer step (npels 1, 2, 3 of tpels 3, even
 *    though fcs calls its progress callback before every network forward) and posteval on its
 *    output image;
 * 2. a kill from an eval handler: vips_image_set_kill() on the output when step 1 is reported
 *    makes the operation (fcs_inpaint, fcs_super_resolve, fcs_extract_layers) fail with an error saying it was
 *    cancelled, before step 2 is reported;
 * 3. a kill from another thread on SIGINT: the program prints "sampling" when a long inpainting
 *    has started and waits for a SIGINT from the test script; a watcher thread then sets the
 *    output's kill flag. It prints how long after the signal the operation returned;
 * 4. the process is healthy afterwards: a quick inpainting gives the pixels it gave before.
 * Prints one line per failed check and exits non-zero if any failed.
 */
#define _POSIX_C_SOURCE 200809L
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <gmodule.h>
#include <vips/vips.h>

static int failures;

#define CHECK(condition, ...)                                                                 \
	do {                                                                                      \
		if (!(condition)) {                                                                   \
			failures++;                                                                       \
			printf("FAIL %s:%d: %s — ", __FILE__, __LINE__, #condition);                     \
			printf(__VA_ARGS__);                                                              \
			printf(" (vips error: %s)\n", vips_error_buffer());                             \
		}                                                                                     \
	} while (0)

/* What the emission hooks saw of the current run (they run on the operation's thread). */
static int preevals, posteval_count, evals;
static gint64 eval_steps[8], eval_total;
static int kill_at_step;             /* 0: never */
static int announce;                 /* print "sampling" at preeval, for the test script */
static VipsImage *sampling_image;    /* the output of the running operation, from preeval */

static sem_t interrupted;
static struct timespec interrupted_at;

/* libvips emits these signals for its own evaluations too (here: materialising the inputs and
 * writing the result); those count pixels, fcs's count steps (and its output is 1×1 while fcs
 * samples). */
static gboolean
from_fcs(const GValue *values)
{
	VipsProgress *progress = g_value_get_pointer(&values[1]);

	return (guint64) progress->tpels != VIPS_IMAGE_N_PELS(progress->im);
}

static gboolean
on_preeval(GSignalInvocationHint *hint, guint n_values, const GValue *values, gpointer data)
{
	(void) hint, (void) n_values, (void) data;
	if (!from_fcs(values))
		return TRUE;
	preevals++;
	g_atomic_pointer_set(&sampling_image, g_object_ref(g_value_get_object(&values[0])));
	if (announce) {
		printf("sampling\n");
		fflush(stdout);
	}
	return TRUE;
}

static gboolean
on_eval(GSignalInvocationHint *hint, guint n_values, const GValue *values, gpointer data)
{
	VipsProgress *progress = g_value_get_pointer(&values[1]);

	(void) hint, (void) n_values, (void) data;
	if (!from_fcs(values))
		return TRUE;
	if (evals < (int) G_N_ELEMENTS(eval_steps))
		eval_steps[evals] = progress->npels;
	evals++;
	eval_total = progress->tpels;
	if (kill_at_step && progress->npels == kill_at_step)
		vips_image_set_kill(g_value_get_object(&values[0]), TRUE);
	return TRUE;
}

static gboolean
on_posteval(GSignalInvocationHint *hint, guint n_values, const GValue *values, gpointer data)
{
	(void) hint, (void) n_values, (void) data;
	if (from_fcs(values))
		posteval_count++;
	return TRUE;
}

static void
on_sigint(int signal_number)
{
	(void) signal_number;
	clock_gettime(CLOCK_MONOTONIC, &interrupted_at);
	sem_post(&interrupted); /* async-signal-safe: the watcher thread does the rest */
}

static gpointer
kill_on_interrupt(gpointer data)
{
	VipsImage *image;

	(void) data;
	while (sem_wait(&interrupted) != 0)
		;
	if ((image = g_atomic_pointer_get(&sampling_image)))
		vips_image_set_kill(image, TRUE);
	return NULL;
}

static void
reset_run(int kill_step)
{
	VipsImage *image = g_atomic_pointer_get(&sampling_image);

	if (image)
		g_object_unref(image);
	g_atomic_pointer_set(&sampling_image, NULL);
	preevals = posteval_count = evals = 0;
	eval_total = 0;
	kill_at_step = kill_step;
	vips_error_clear();
}

/* fcs_inpaint with this many steps (K = 1, seed 1); the result as packed bytes in *pixels. */
static int
inpaint(VipsImage *in, VipsImage *mask, const char *model, int steps, void **pixels, size_t *size)
{
	VipsImage *out;

	if (vips_call("fcs_inpaint", in, mask, &out, "model", model, "steps", steps, "newton_steps", 1, "seed", 1, NULL))
		return -1;
	*pixels = vips_image_write_to_memory(out, size);
	g_object_unref(out);
	return *pixels ? 0 : -1;
}

static double
seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double) (now.tv_sec - start->tv_sec) + (double) (now.tv_nsec - start->tv_nsec) * 1e-9;
}

int
main(int argc, char **argv)
{
	VipsImage *in, *mask;
	GModule *plugin;
	GThread *watcher;
	struct sigaction action;
	void *reference = NULL, *again = NULL, *unused = NULL;
	size_t reference_size = 0, again_size = 0, unused_size;
	int status;

	if (argc != 5) {
		fprintf(stderr, "usage: %s PLUGIN MODEL IN MASK\n", argv[0]);
		return 2;
	}
	if (VIPS_INIT(argv[0]))
		vips_error_exit(NULL);
	if (!(plugin = g_module_open(argv[1], G_MODULE_BIND_LAZY))) {
		fprintf(stderr, "%s: %s\n", argv[1], g_module_error());
		return 1;
	}
	if (!(in = vips_image_new_from_file(argv[3], NULL)) || !(mask = vips_image_new_from_file(argv[4], NULL)))
		vips_error_exit(NULL);
	if (!g_signal_add_emission_hook(g_signal_lookup("preeval", VIPS_TYPE_IMAGE), 0, on_preeval, NULL, NULL) ||
		!g_signal_add_emission_hook(g_signal_lookup("eval", VIPS_TYPE_IMAGE), 0, on_eval, NULL, NULL) ||
		!g_signal_add_emission_hook(g_signal_lookup("posteval", VIPS_TYPE_IMAGE), 0, on_posteval, NULL, NULL)) {
		fprintf(stderr, "cannot hook VipsImage's progress signals\n");
		return 1;
	}

	/* 1. one eval per step */
	reset_run(0);
	CHECK(inpaint(in, mask, argv[2], 3, &reference, &reference_size) == 0, "3-step inpainting");
	CHECK(preevals == 1 && posteval_count == 1, "preeval %d, posteval %d times", preevals, posteval_count);
	CHECK(evals == 3 && eval_steps[0] == 1 && eval_steps[1] == 2 && eval_steps[2] == 3 && eval_total == 3,
		"%d evals (steps %ld %ld %ld … of %ld), wanted 1 2 3 of 3", evals, (long) eval_steps[0], (long) eval_steps[1],
		(long) eval_steps[2], (long) eval_total);

	/* 2. kill from an eval handler */
	reset_run(1);
	status = inpaint(in, mask, argv[2], 50, &unused, &unused_size);
	CHECK(status != 0 && strstr(vips_error_buffer(), "cancelled"), "killed at step 1: status %d", status);
	CHECK(evals == 1 && posteval_count == 1, "killed at step 1: %d evals, %d posteval", evals, posteval_count);
	g_free(unused);
	unused = NULL;
	{
		VipsImage *big, *layer1, *layer2, *ownership;
		reset_run(1);
		status = vips_call("fcs_super_resolve", in, &big, 2, "model", argv[2], "steps", 50, "newton_steps", 1, NULL);
		CHECK(status != 0 && evals == 1 && strstr(vips_error_buffer(), "cancelled"), "fcs_super_resolve killed at step 1");
		if (!status)
			g_object_unref(big);
		reset_run(1);
		status = vips_call("fcs_extract_layers", in, &layer1, &layer2, &ownership, "model", argv[2], "steps", 2, "newton_steps", 1,
			"iterations", 20, "samples_per_layer", 1, "restarts", 1, NULL);
		CHECK(status != 0 && evals == 1 && strstr(vips_error_buffer(), "cancelled"), "fcs_extract_layers killed at step 1");
		if (!status) {
			g_object_unref(layer1);
			g_object_unref(layer2);
			g_object_unref(ownership);
		}
	}

	/* 3. kill from another thread on SIGINT */
	reset_run(0);
	if (sem_init(&interrupted, 0, 0)) {
		perror("sem_init");
		return 1;
	}
	memset(&action, 0, sizeof action);
	action.sa_handler = on_sigint;
	if (sigemptyset(&action.sa_mask) || sigaction(SIGINT, &action, NULL)) {
		perror("sigaction");
		return 1;
	}
	watcher = g_thread_new("kill-on-sigint", kill_on_interrupt, NULL);
	announce = 1;
	status = inpaint(in, mask, argv[2], 1000, &unused, &unused_size);
	if (status != 0 && interrupted_at.tv_sec)
		printf("cancelled %.1f ms after SIGINT (%d steps reported)\n", seconds_since(&interrupted_at) * 1e3, evals);
	CHECK(status != 0 && interrupted_at.tv_sec && strstr(vips_error_buffer(), "cancelled"),
		"SIGINT: status %d, signalled %d", status, interrupted_at.tv_sec != 0);
	announce = 0;
	if (!interrupted_at.tv_sec)
		sem_post(&interrupted); /* no signal came: let the watcher end */
	g_thread_join(watcher);
	g_free(unused);

	/* 4. still healthy */
	reset_run(0);
	CHECK(inpaint(in, mask, argv[2], 3, &again, &again_size) == 0 && again_size == reference_size &&
		reference && memcmp(again, reference, again_size) == 0, "after cancelling, the same 3-step result");
	g_free(reference);
	g_free(again);
	reset_run(0);
	g_object_unref(in);
	g_object_unref(mask);
	printf("%s: %d failure(s)\n", argv[0], failures);
	return failures ? 1 : 0;
}
