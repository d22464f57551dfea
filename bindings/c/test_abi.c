/* Tests of the C ABI as a C program sees it, against the tiny random model of the Swift tests.
 *   test_abi MODEL_FOLDER LORA_FOLDER     (tiny-sd and tiny-lora)
 * Built by bindings/c/test.sh from a staged install with `pkg-config --cflags --libs fcs`.
 * Prints one line per failed check and exits non-zero if any failed. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcs.h>

static int failures;

#define CHECK(condition, ...)                                                                 \
	do {                                                                                      \
		if (!(condition)) {                                                                   \
			failures++;                                                                       \
			printf("FAIL %s:%d: %s — ", __FILE__, __LINE__, #condition);                     \
			printf(__VA_ARGS__);                                                              \
			printf(" (last error: %s)\n", fcs_last_error());                                 \
		}                                                                                     \
	} while (0)

/* A status that must fail with this code and a message containing `word`. */
#define CHECK_ERROR(call, code, word)                                                         \
	do {                                                                                      \
		fcs_status status_ = (call);                                                          \
		CHECK(status_ == (code) && strstr(fcs_last_error(), (word)),                         \
			"%s gave %d, wanted %d with \"%s\"", #call, status_, (code), (word));            \
	} while (0)

static uint8_t pixels[48][64][4];
static uint8_t mask_pixels[48][64];

static fcs_image
rgba_image(int channels)
{
	fcs_image image = { 64, 48, channels, FCS_PIXEL_U8, sizeof(pixels[0]), pixels };
	return image;
}

static fcs_image
mask_image(void)
{
	fcs_image mask = { 64, 48, 1, FCS_PIXEL_U8, 0, mask_pixels };
	return mask;
}

static fcs_sample_params
quick_params(void)
{
	fcs_sample_params params = fcs_sample_params_default();
	params.steps = 2;
	params.newton_steps = 1;
	params.seed = 7;
	return params;
}

/* What a progress callback saw: fcs calls it before every network forward (the step repeats)
 * and after each step. */
struct progress_log {
	int calls;
	int32_t last_step, last_total;
	int went_back;           /* a step smaller than the one before */
	int32_t cancel_at_step;  /* return non-zero from the first call with this step; 0 = never */
};

static int
log_progress(int32_t step, int32_t total, void *user_data)
{
	struct progress_log *log = user_data;

	log->went_back |= log->calls > 0 && step < log->last_step;
	log->calls++;
	log->last_step = step;
	log->last_total = total;
	return log->cancel_at_step && step >= log->cancel_at_step;
}

static void
count_log(fcs_log_level level, const char *text, void *user_data)
{
	(void) level;
	(void) text;
	(*(int *) user_data)++;
}

struct job {
	fcs_model *model;
	uint64_t seed;
	fcs_image out;
	fcs_status status;
};

static void *
run_job(void *argument)
{
	struct job *job = argument;
	fcs_image image = rgba_image(4), mask = mask_image();
	fcs_sample_params params = quick_params();

	params.seed = job->seed;
	job->status = fcs_inpaint(job->model, &image, &mask, &params, &job->out);
	return NULL;
}

/* LoRA files in fcs_model_params: the fields are validated, two files merge, and a file that is
 * no LoRA fails naming itself. */
static void
check_loras(const char *model_path, const char *lora_folder)
{
	char peft[4096], kohya[4096], not_lora[4096];
	const char *paths[2] = { peft, NULL };
	float scales[2] = { 0.7f, INFINITY };
	fcs_model_params p = fcs_model_params_default();
	fcs_model *model = NULL;

	snprintf(peft, sizeof peft, "%s/peft.safetensors", lora_folder);
	snprintf(kohya, sizeof kohya, "%s/kohya.safetensors", lora_folder);
	snprintf(not_lora, sizeof not_lora, "%s/reference.safetensors", lora_folder);
	CHECK(p.lora_paths == NULL && p.lora_scales == NULL && p.n_loras == 0, "LoRA defaults");
	p.n_loras = -1;
	CHECK_ERROR(fcs_model_load(model_path, &p, &model), FCS_ERROR_INVALID_ARGUMENT, "n_loras");
	p.n_loras = FCS_MAX_LORAS + 1;
	CHECK_ERROR(fcs_model_load(model_path, &p, &model), FCS_ERROR_INVALID_ARGUMENT, "n_loras");
	p.n_loras = 2;
	CHECK_ERROR(fcs_model_load(model_path, &p, &model), FCS_ERROR_INVALID_ARGUMENT, "lora_paths is NULL");
	p.lora_paths = paths;
	CHECK_ERROR(fcs_model_load(model_path, &p, &model), FCS_ERROR_INVALID_ARGUMENT, "lora_paths[1] is NULL");
	paths[1] = not_lora;
	CHECK_ERROR(fcs_model_load(model_path, &p, &model), FCS_ERROR_FORMAT, "reference.safetensors");
	paths[1] = kohya;
	p.lora_scales = scales;
	CHECK_ERROR(fcs_model_load(model_path, &p, &model), FCS_ERROR_INVALID_ARGUMENT, "lora_scales[1]");
	CHECK(model == NULL, "failed LoRA loads left a model");
	scales[1] = 1.3f;
	CHECK(fcs_model_load(model_path, &p, &model) == FCS_OK && model, "load with two LoRAs");
	fcs_model_free(model);
}

int
main(int argc, char **argv)
{
	char version[32];
	fcs_model *model = NULL, *bogus;
	fcs_image image, mask, out = { 0 }, layer1 = { 0 }, layer2 = { 0 }, ownership = { 0 };
	fcs_sample_params params;
	fcs_layer_params layer_params;
	int x, y, logged = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: %s MODEL_FOLDER LORA_FOLDER\n", argv[0]);
		return 2;
	}
	for (y = 0; y < 48; y++)
		for (x = 0; x < 64; x++) {
			pixels[y][x][0] = (uint8_t) (x * 4);
			pixels[y][x][1] = (uint8_t) (y * 5);
			pixels[y][x][2] = (uint8_t) (x + y);
			pixels[y][x][3] = (uint8_t) (255 - x);
			mask_pixels[y][x] = x >= 24 && x < 40 && y >= 8 && y < 32 ? 255 : 0;
		}

	/* version and defaults */
	snprintf(version, sizeof version, "%d.%d.%d", FCS_VERSION_MAJOR, FCS_VERSION_MINOR, FCS_VERSION_PATCH);
	CHECK(strcmp(fcs_version(), version) == 0, "fcs_version() %s, header %s", fcs_version(), version);
	params = fcs_sample_params_default();
	CHECK(params.steps == 20 && params.newton_steps == -1 && params.paste_back == 1 && params.fd_step == 0.005f && params.method == FCS_INPAINT_CONSTRAINED &&
		params.context_crop_above == 1024 && params.context_size == 512,
		"sample defaults %d %d %d %g", params.steps, params.newton_steps, params.paste_back, params.fd_step);
	layer_params = fcs_layer_params_default();
	CHECK(layer_params.sample.steps == 10 && layer_params.iterations == 3 && layer_params.hint == NULL, "layer defaults");

	/* loading: bad arguments and files name the problem; nothing is allocated on failure */
	bogus = (fcs_model *) &failures;
	CHECK_ERROR(fcs_model_load(NULL, NULL, &model), FCS_ERROR_INVALID_ARGUMENT, "path is NULL");
	CHECK_ERROR(fcs_model_load(argv[1], NULL, NULL), FCS_ERROR_INVALID_ARGUMENT, "out_model is NULL");
	CHECK_ERROR(fcs_model_load("/nonexistent/model", NULL, &model), FCS_ERROR_IO, "/nonexistent/model");
	CHECK(model == NULL, "failed load left a model");
	{
		fcs_model_params bad = fcs_model_params_default();
		bad.weight_type = (fcs_weight_type) 7;
		CHECK_ERROR(fcs_model_load(argv[1], &bad, &model), FCS_ERROR_INVALID_ARGUMENT, "weight_type");
		bad = fcs_model_params_default();
		CHECK(bad.precision == FCS_PRECISION_AUTO, "the default precision is FCS_PRECISION_AUTO");
		bad.precision = (fcs_precision) 7;
		CHECK_ERROR(fcs_model_load(argv[1], &bad, &model), FCS_ERROR_INVALID_ARGUMENT, "precision 7");
		CHECK(strcmp(fcs_precision_name(FCS_PRECISION_BF16), "bf16") == 0, "fcs_precision_name");
	}
	check_loras(argv[1], argv[2]);
	CHECK(fcs_model_load(argv[1], NULL, &model) == FCS_OK && model, "load %s", argv[1]);
	CHECK(strcmp(fcs_last_error(), "") == 0, "success clears the error");

	/* inpainting: argument checks */
	image = rgba_image(3);
	image.stride = sizeof(pixels[0]); /* rows are 4-channel wide: a stride larger than the row */
	mask = mask_image();
	params = quick_params();
	CHECK_ERROR(fcs_inpaint(NULL, &image, &mask, &params, &out), FCS_ERROR_INVALID_ARGUMENT, "model is NULL");
	CHECK_ERROR(fcs_inpaint(bogus, &image, &mask, &params, &out), FCS_ERROR_INVALID_ARGUMENT, "not a loaded fcs_model");
	CHECK_ERROR(fcs_inpaint(model, NULL, &mask, &params, &out), FCS_ERROR_INVALID_ARGUMENT, "image is NULL");
	CHECK_ERROR(fcs_inpaint(model, &image, &mask, &params, NULL), FCS_ERROR_INVALID_ARGUMENT, "out is NULL");
	image.channels = 2;
	CHECK_ERROR(fcs_inpaint(model, &image, &mask, &params, &out), FCS_ERROR_INVALID_ARGUMENT, "channels");
	image.channels = 3;
	image.stride = 10;
	CHECK_ERROR(fcs_inpaint(model, &image, &mask, &params, &out), FCS_ERROR_INVALID_ARGUMENT, "stride");
	image.stride = sizeof(pixels[0]);
	mask.width = 32;
	CHECK_ERROR(fcs_inpaint(model, &image, &mask, &params, &out), FCS_ERROR_INVALID_ARGUMENT, "mask is 32×48");
	mask.width = 64;
	params.steps = 0;
	CHECK_ERROR(fcs_inpaint(model, &image, &mask, &params, &out), FCS_ERROR_INVALID_ARGUMENT, "steps");
	params = quick_params();
	params.fd_step = -1;
	CHECK_ERROR(fcs_inpaint(model, &image, &mask, &params, &out), FCS_ERROR_INVALID_ARGUMENT, "fd_step");
	params = quick_params();
	params.context_size = 0;
	CHECK_ERROR(fcs_inpaint(model, &image, &mask, &params, &out), FCS_ERROR_INVALID_ARGUMENT, "context_size");
	params = quick_params();
	params.noise_path = "/nonexistent/noise.safetensors";
	CHECK_ERROR(fcs_inpaint(model, &image, &mask, &params, &out), FCS_ERROR_IO, "noise.safetensors");
	params = quick_params();
	CHECK(setenv("FCS_MEMORY_AVAILABLE", "1000", 1) == 0, "setenv"); /* bytes: overrides MemAvailable */
	CHECK_ERROR(fcs_inpaint(model, &image, &mask, &params, &out), FCS_ERROR_OUT_OF_MEMORY, "GiB");
	CHECK(unsetenv("FCS_MEMORY_AVAILABLE") == 0, "unsetenv");
	CHECK(out.data == NULL, "failed calls leave out empty");

	/* progress, cancellation and logging */
	{
		struct progress_log seen = { 0 }, cancelled = { 0 };
		params = quick_params();
		params.progress = log_progress;
		params.user_data = &seen;
		CHECK(fcs_inpaint(model, &image, &mask, &params, &out) == FCS_OK, "inpaint with progress");
		CHECK(seen.calls >= 2 && !seen.went_back && seen.last_step == 2 && seen.last_total == 2,
			"progress: %d calls, last %d/%d, went back %d", seen.calls, seen.last_step, seen.last_total, seen.went_back);
		fcs_image_free(&out);
		cancelled.cancel_at_step = 1;
		params.user_data = &cancelled;
		CHECK_ERROR(fcs_inpaint(model, &image, &mask, &params, &out), FCS_CANCELLED, "cancel");
		CHECK(cancelled.last_step == 1 && cancelled.calls <= seen.calls, "cancelled at step %d after %d calls",
			cancelled.last_step, cancelled.calls);
		CHECK(out.data == NULL, "a cancelled call leaves out empty");
	}
	fcs_set_log_callback(count_log, &logged);

	/* a real run: RGB with a padded stride, 64×48 (not a multiple of 64: padded inside) */
	params = quick_params();
	CHECK(fcs_inpaint(model, &image, &mask, &params, &out) == FCS_OK, "inpaint");
	fcs_set_log_callback(NULL, NULL);
	CHECK(logged > 0, "the log callback saw %d lines", logged);
	CHECK(out.width == 64 && out.height == 48 && out.channels == 3 && out.format == FCS_PIXEL_U8 && out.stride == 64 * 3,
		"out %dx%dx%d format %d stride %zu", out.width, out.height, out.channels, out.format, out.stride);
	if (out.data) {
		const uint8_t *o = out.data;
		const uint8_t *in = &pixels[0][0][0];   /* 3-channel pixels in 4-channel-wide rows */
		CHECK(memcmp(o, in, 3) == 0 && memcmp(o + (47 * 64 + 63) * 3, in + 47 * sizeof(pixels[0]) + 63 * 3, 3) == 0,
			"known pixels far from the hole are kept");
	}
	fcs_image_free(&out);
	CHECK(out.data == NULL && out.width == 0, "fcs_image_free zeroes the image");
	fcs_image_free(&out);
	fcs_image_free(NULL);

	/* RGBA: alpha passes through; F32 grey in gives F32 grey out */
	image = rgba_image(4);
	CHECK(fcs_inpaint(model, &image, &mask, &params, &out) == FCS_OK && out.channels == 4, "RGBA inpaint");
	if (out.data) {
		const uint8_t *o = out.data;
		CHECK(o[3] == 255 && o[(10 * 64 + 30) * 4 + 3] == 255 - 30, "alpha passed through");
	}
	fcs_image_free(&out);
	{
		static float grey[48][64];
		fcs_image grey_image = { 64, 48, 1, FCS_PIXEL_F32, 0, grey };
		for (y = 0; y < 48; y++)
			for (x = 0; x < 64; x++)
				grey[y][x] = (float) x / 64.0f;
		CHECK(fcs_inpaint(model, &grey_image, &mask, &params, &out) == FCS_OK && out.channels == 1 &&
			out.format == FCS_PIXEL_F32, "grey float inpaint");
		fcs_image_free(&out);
		grey[3][3] = 0.0f / 0.0f;
		CHECK_ERROR(fcs_inpaint(model, &grey_image, &mask, &params, &out), FCS_ERROR_INVALID_ARGUMENT, "NaN");
	}

	/* 4 threads sharing the model at once, each with its own seed, get their single-threaded pixels */
	{
		struct job jobs[4];
		fcs_image expected[4];
		pthread_t threads[4];
		int i, started[4];
		const size_t size = 64 * 48 * 4;
		image = rgba_image(4);
		for (i = 0; i < 4; i++) {
			memset(&expected[i], 0, sizeof expected[i]);
			params = quick_params();
			params.seed = 100 + (uint64_t) i;
			CHECK(fcs_inpaint(model, &image, &mask, &params, &expected[i]) == FCS_OK, "seed %d alone", 100 + i);
		}
		CHECK(expected[0].data && expected[1].data && memcmp(expected[0].data, expected[1].data, size) != 0,
			"seeds 100 and 101 give different pixels");
		for (i = 0; i < 4; i++) {
			memset(&jobs[i], 0, sizeof jobs[i]);
			jobs[i].model = model;
			jobs[i].seed = 100 + (uint64_t) i;
			started[i] = pthread_create(&threads[i], NULL, run_job, &jobs[i]) == 0;
			CHECK(started[i], "pthread_create %d", i);
		}
		for (i = 0; i < 4; i++) {
			if (!started[i])
				continue;
			CHECK(pthread_join(threads[i], NULL) == 0, "pthread_join %d", i);
			CHECK(jobs[i].status == FCS_OK && expected[i].data && jobs[i].out.data &&
				memcmp(jobs[i].out.data, expected[i].data, size) == 0, "thread %d (seed %d) matches its single run", i, 100 + i);
			fcs_image_free(&jobs[i].out);
		}
		for (i = 0; i < 4; i++)
			fcs_image_free(&expected[i]);
	}

	/* super-resolution: size, scale check */
	image = rgba_image(3);
	image.width = 16;
	image.height = 12;
	CHECK_ERROR(fcs_super_resolve(model, &image, 3, &params, &out), FCS_ERROR_INVALID_ARGUMENT, "scale");
	CHECK(fcs_super_resolve(model, &image, 4, &params, &out) == FCS_OK && out.width == 64 && out.height == 48 &&
		out.channels == 3, "superres 16x12 x4 -> %dx%d", out.width, out.height);
	fcs_image_free(&out);

	/* layers */
	image = rgba_image(3);
	layer_params = fcs_layer_params_default();
	layer_params.sample.steps = 1;
	layer_params.sample.newton_steps = 1;
	layer_params.iterations = 1;
	layer_params.samples_per_layer = 1;
	layer_params.restarts = 1;
	layer_params.block_size = 16;
	CHECK_ERROR(fcs_extract_layers(model, &image, &layer_params, &layer1, NULL, &ownership), FCS_ERROR_INVALID_ARGUMENT,
		"layer2 is NULL");
	CHECK(fcs_extract_layers(model, &image, &layer_params, &layer1, &layer2, &ownership) == FCS_OK &&
		layer1.channels == 3 && layer2.width == 64 && ownership.channels == 1 && ownership.height == 48, "layers");
	fcs_image_free(&layer1);
	fcs_image_free(&layer2);
	fcs_image_free(&ownership);

	/* threads setting */
	CHECK_ERROR(fcs_set_num_threads(0), FCS_ERROR_INVALID_ARGUMENT, "n_threads");
	CHECK(fcs_set_num_threads(1) == FCS_OK && fcs_get_num_threads() == 1, "threads = 1");

	/* a freed model is an error, not a crash; freeing twice is harmless */
	fcs_model_free(model);
	image = rgba_image(3);
	CHECK_ERROR(fcs_inpaint(model, &image, &mask, &params, &out), FCS_ERROR_INVALID_ARGUMENT, "not a loaded fcs_model");
	fcs_model_free(model);
	fcs_model_free(NULL);

	printf("%s: %d failure(s)\n", argv[0], failures);
	return failures ? 1 : 0;
}
