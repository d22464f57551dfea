/* fcs_vips.c — libvips operations over libfcs:
 *
 *   vips fcs_inpaint in mask out [--model M] [--lora FILE[:SCALE],...] [--steps N] [--seed S] [--prompt P] ...
 *   vips fcs_superres in out [--scale 4] ...
 *   vips fcs_deblur in out [--sigma 1 | --kernel psf.png] ...
 *   vips fcs_colorize in out ...
 *   vips fcs_layers in layer1 layer2 mask ...
 *
 * The model comes from --model or the FCS_MODEL environment variable, with the LoRA files of
 * --lora FILE[:SCALE],… merged in, and is loaded once per process for each model, --lora string,
 * --precision and fcs_superres --transport-vae (kept for the process's life: hosts like pyvips
 * call an operation many times).
 *
 * Sampling needs the whole image, so build() materialises the input, runs fcs, and wraps the
 * result as a memory image (the "whole-image" shape of shared/spec/vips-and-abi.md §5). While fcs
 * samples, the (first) output image reports progress (preeval, one eval per step, posteval;
 * npels / tpels are steps) and an output's kill flag (vips_image_set_kill, e.g. from an eval
 * handler or another thread) cancels the call before fcs's next network forward. Any band
 * format works: images go to float 0…1 sRGB (or grey) for fcs and back to the input's format and
 * interpretation; alpha is passed through. Without --seed the result is random, so the operation
 * is then marked uncacheable (pitfall P15).
 *
 * Loading: libvips g_module_open()s every file in its vips-modules-X.Y folder and GModule calls
 * g_module_check_init(); `vips --plugin` also wants the vips7 package_table (P17); other hosts
 * can dlopen this file and call fcs_vips_init().
 */
#include <stdlib.h>
#include <string.h>

#include <gmodule.h>
#include <vips/vips.h>
#if VIPS_ENABLE_DEPRECATED
#include <vips/vips7compat.h>
#endif

#include "fcs.h"
#include "vips_pixels.h"

/* ---- models, loaded once per path, LoRA list and transport autoencoder ------------------- */

static GMutex fcs_vips_models_lock;
static GHashTable *fcs_vips_models; /* "<precision>:<strlen(path)>:<path><strlen(lora)>:<lora><transport_vae>" -> fcs_model* */

/* Loads path with the LoRA files of lora: "FILE[:SCALE],FILE[:SCALE]…" as the fcs command's
 * --lora (the text after a file's last ':' is its scale when it is a number; default 1); NULL or
 * "" for none; transport_vae (NULL or "" for the model's own VAE); and the compute precision.
 * fcs validates them. */
static fcs_status
fcs_vips_load(const char *path, const char *lora, const char *transport_vae, fcs_precision precision, fcs_model **model)
{
	char **items = g_strsplit(lora ? lora : "", ",", -1);
	int n = lora && *lora ? (int) g_strv_length(items) : 0, i;
	const char **paths = g_new0(const char *, n + 1);
	float *scales = g_new0(float, n + 1);
	fcs_model_params params = fcs_model_params_default();
	fcs_status status;

	for (i = 0; i < n; i++) {
		char *colon = strrchr(items[i], ':'), *end;
		double scale = 1.0;

		if (colon) {
			scale = g_ascii_strtod(colon + 1, &end);
			if (end != colon + 1 && *end == '\0')
				*colon = '\0';
			else
				scale = 1.0;
		}
		paths[i] = items[i];
		scales[i] = (float) scale;
	}
	params.lora_paths = paths;
	params.lora_scales = scales;
	params.n_loras = n;
	if (transport_vae && *transport_vae)
		params.transport_vae = transport_vae;
	params.precision = precision;
	status = fcs_model_load(path, &params, model);
	g_free(paths);
	g_free(scales);
	g_strfreev(items);
	return status;
}

/* The loaded model for path (or FCS_MODEL), lora and transport_vae (NULL or "" for none) in precision. */
static fcs_model *
fcs_vips_model(const char *domain, const char *path, const char *lora, const char *transport_vae, fcs_precision precision)
{
	fcs_model *model;
	char *key;

	if (!path || !*path)
		path = g_getenv("FCS_MODEL");
	if (!path || !*path) {
		vips_error(domain, "%s", "no model: give --model PATH (a diffusers folder, "
			".safetensors file or hub-cache name) or set FCS_MODEL");
		return NULL;
	}
	lora = lora ? lora : "";
	transport_vae = transport_vae ? transport_vae : "";
	/* the length prefixes keep the key unambiguous whatever characters the paths hold */
	key = g_strdup_printf("%d:%zu:%s%zu:%s%s", (int) precision, strlen(path), path, strlen(lora), lora, transport_vae);
	g_mutex_lock(&fcs_vips_models_lock);
	if (!fcs_vips_models)
		fcs_vips_models = g_hash_table_new(g_str_hash, g_str_equal);
	model = g_hash_table_lookup(fcs_vips_models, key);
	if (!model) {
		if (fcs_vips_load(path, lora, transport_vae, precision, &model) == FCS_OK) {
			g_hash_table_insert(fcs_vips_models, key, model);
			key = NULL;
		} else
			vips_error(domain, "%s", fcs_last_error());
	}
	g_mutex_unlock(&fcs_vips_models_lock);
	g_free(key);
	return model;
}

/* ---- images: the conversions of Sources/_FCSImageFiles/vips_pixels.c, shared with the fcs command */

/* in's pixels as an F32 fcs_image (data: g_free); *like lives as long as the operation. */
static float *
fcs_vips_input(VipsObject *object, VipsImage *in, fcs_image *image, VipsImage **like)
{
	VipsImage **t = (VipsImage **) vips_object_local_array(object, 1);
	int width, height, channels;
	float *data;

	if (!(data = fcs_vips_read_pixels(in, &width, &height, &channels, &t[0])))
		return NULL;
	*like = t[0];
	image->width = width;
	image->height = height;
	image->channels = channels;
	image->format = FCS_PIXEL_F32;
	image->stride = 0;
	image->data = data;
	return data;
}

/* Writes an fcs result into out, in like's format and interpretation. */
static int
fcs_vips_output(const fcs_image *result, VipsImage *like, VipsImage *out)
{
	VipsImage *image = fcs_vips_image_from_pixels(result->data, result->width, result->height, result->channels, like);
	int status;

	if (!image)
		return -1;
	status = vips_image_write(image, out);
	g_object_unref(image);
	return status;
}

/* ---- progress and cancellation ---------------------------------------------------------- */

/* One fcs call's link to its output images. fcs calls the progress callback before every network
 * forward, repeating the step, so the kill flags are checked on every call (cancelling within one
 * forward) while "eval" is emitted (on the first output) only when the step changes. */
typedef struct _FcsVipsProgress {
	VipsImage *outs[3];
	int n_outs;
	VipsProgress progress; /* npels / tpels: outer steps done / in all */
} FcsVipsProgress;

static int
fcs_vips_on_progress(int32_t step, int32_t total, void *user_data)
{
	FcsVipsProgress *self = user_data;
	double run;
	int i;

	for (i = 0; i < self->n_outs; i++)
		if (vips_image_iskilled(self->outs[i]))
			return 1;
	if (step != self->progress.npels) {
		run = g_timer_elapsed(self->progress.start, NULL);
		self->progress.npels = step;
		self->progress.tpels = total;
		self->progress.percent = total > 0 ? (int) (100 * (gint64) step / total) : 0;
		self->progress.run = (int) run;
		self->progress.eta = step > 0 ? (int) (run * (total - step) / step) : 0;
		g_signal_emit_by_name(self->outs[0], "eval", &self->progress);
	}
	return 0;
}

/* Emits "preeval" on outs[0] and points params' progress callback at self. */
static void
fcs_vips_progress_begin(FcsVipsProgress *self, VipsImage **outs, int n_outs, fcs_sample_params *params)
{
	memset(self, 0, sizeof *self);
	memcpy(self->outs, outs, n_outs * sizeof outs[0]);
	self->n_outs = n_outs;
	self->progress.im = outs[0];
	self->progress.start = g_timer_new();
	params->progress = fcs_vips_on_progress;
	params->user_data = self;
	g_signal_emit_by_name(outs[0], "preeval", &self->progress);
}

/* Emits "posteval" (also after a failure, as libvips does) and frees the timer. */
static void
fcs_vips_progress_end(FcsVipsProgress *self)
{
	g_signal_emit_by_name(self->outs[0], "posteval", &self->progress);
	g_timer_destroy(self->progress.start);
}

/* The vips error for a failed fcs call: fcs's message, which says "cancelled" for a kill. */
static int
fcs_vips_error(const char *domain)
{
	vips_error(domain, "%s", fcs_last_error());
	return -1;
}

/* ---- the shared base class: model and sampling parameters ------------------------------- */

typedef struct _FcsSampleOp {
	VipsOperation parent_instance;
	char *model;
	int steps;
	int newton_steps;
	guint64 seed;
	char *prompt;
	double guidance;
	double fd_step;
	char *sampler;
	fcs_sampler sampler_value;  /* sampler, read in build */
	char *lora;
	char *precision;
	fcs_precision precision_value;  /* precision, read in build */
} FcsSampleOp;

typedef VipsOperationClass FcsSampleOpClass;

G_DEFINE_ABSTRACT_TYPE(FcsSampleOp, fcs_sample_op, VIPS_TYPE_OPERATION);

/* Results depend on the seed: without one they are random and must not be cached. */
static VipsOperationFlags
fcs_sample_op_get_flags(VipsOperation *operation)
{
	VipsOperationFlags flags = VIPS_OPERATION_CLASS(fcs_sample_op_parent_class)->get_flags(operation);

	if (!vips_object_argument_isset(VIPS_OBJECT(operation), "seed"))
		flags |= VIPS_OPERATION_NOCACHE;
	return flags;
}

static void
fcs_sample_op_fill(FcsSampleOp *self, fcs_sample_params *params, int default_steps)
{
	params->steps = vips_object_argument_isset(VIPS_OBJECT(self), "steps") ? self->steps : default_steps;
	params->newton_steps = self->newton_steps;
	params->seed = vips_object_argument_isset(VIPS_OBJECT(self), "seed")
		? self->seed
		: ((uint64_t) g_random_int() << 32) | g_random_int();
	params->prompt = self->prompt;
	params->guidance_scale = (float) self->guidance;
	params->fd_step = (float) self->fd_step;
	params->sampler = self->sampler_value;
}

/* Reads the sampler's and the precision's names before a subclass loads anything: a bad name
 * fails the build. */
static int
fcs_sample_op_build(VipsObject *object)
{
	FcsSampleOp *self = (FcsSampleOp *) object;

	if (VIPS_OBJECT_CLASS(fcs_sample_op_parent_class)->build(object))
		return -1;
	if (fcs_sampler_from_name(self->sampler, &self->sampler_value) != FCS_OK ||
		fcs_precision_from_name(self->precision, &self->precision_value) != FCS_OK)
		return fcs_vips_error(VIPS_OBJECT_GET_CLASS(object)->nickname);
	return 0;
}

static void
fcs_sample_op_class_init(FcsSampleOpClass *class)
{
	GObjectClass *gobject_class = G_OBJECT_CLASS(class);
	VipsObjectClass *object_class = VIPS_OBJECT_CLASS(class);

	gobject_class->set_property = vips_object_set_property;
	gobject_class->get_property = vips_object_get_property;
	object_class->nickname = "fcs_sample";
	object_class->description = "fast constrained sampling with Stable Diffusion 1.x";
	object_class->build = fcs_sample_op_build;
	class->get_flags = fcs_sample_op_get_flags;

	VIPS_ARG_STRING(class, "model", 20, "Model",
		"Diffusers folder, .safetensors checkpoint or hub-cache name (default: $FCS_MODEL)",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsSampleOp, model), NULL);
	VIPS_ARG_INT(class, "steps", 21, "Steps", "Denoising steps (default 20; 10 for fcs_layers)",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsSampleOp, steps), 1, 1000, 20);
	VIPS_ARG_INT(class, "newton_steps", 22, "Newton steps",
		"Inner correction steps K per step (-1: the task's default, 5 inpaint, 10 SR)",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsSampleOp, newton_steps), -1, 100, -1);
	VIPS_ARG_UINT64(class, "seed", 23, "Seed", "Random seed (default: a new one each call)",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsSampleOp, seed), 0, G_MAXUINT64, 0);
	VIPS_ARG_STRING(class, "prompt", 24, "Prompt", "Text prompt (default: none, as the paper)",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsSampleOp, prompt), "");
	VIPS_ARG_DOUBLE(class, "guidance", 25, "Guidance", "Classifier-free guidance scale, on when > 1",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsSampleOp, guidance), 0.0, 100.0, 0.0);
	VIPS_ARG_DOUBLE(class, "fd_step", 26, "Finite-difference step", "h of the Jacobian finite difference",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsSampleOp, fd_step), 1e-6, 1.0, 0.005);
	VIPS_ARG_STRING(class, "sampler", 27, "Sampler",
		"Outer sampler: paper, dpm++2m (DPM-Solver++(2M), about 10 steps) or lcm (LCM checkpoints, 4-8 steps)",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsSampleOp, sampler), "paper");
	VIPS_ARG_STRING(class, "lora", 28, "LoRA",
		"LoRA .safetensors files merged into the model at load, FILE[:SCALE] comma-separated (default: none)",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsSampleOp, lora), NULL);
	VIPS_ARG_STRING(class, "precision", 29, "Precision",
		"Compute precision: auto (fp32 for now), fp32, or bf16 (bf16 products, fp32 sums: about twice as fast "
		"with AVX512_BF16; not the default until it passes the gate of `fcs bench precision`)",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsSampleOp, precision), "auto");
}

static void
fcs_sample_op_init(FcsSampleOp *self)
{
	self->steps = 20;
	self->newton_steps = -1;
	self->prompt = g_strdup("");
	self->fd_step = 0.005;
	self->sampler = g_strdup("paper");
	self->precision = g_strdup("auto");
}

/* ---- fcs_inpaint ------------------------------------------------------------------------ */

typedef struct _FcsInpaintOp {
	FcsSampleOp parent_instance;
	VipsImage *in;
	VipsImage *mask;
	VipsImage *out;
	gboolean no_paste_back;
} FcsInpaintOp;

typedef FcsSampleOpClass FcsInpaintOpClass;

G_DEFINE_TYPE(FcsInpaintOp, fcs_inpaint_op, fcs_sample_op_get_type());

static int
fcs_inpaint_op_build(VipsObject *object)
{
	FcsInpaintOp *self = (FcsInpaintOp *) object;
	fcs_image image = { 0 }, mask = { 0 }, result = { 0 };
	fcs_sample_params params = fcs_sample_params_default();
	FcsVipsProgress progress;
	VipsImage *like, *mask_like;
	fcs_model *model;
	int status;

	g_object_set(object, "out", vips_image_new(), NULL);
	if (VIPS_OBJECT_CLASS(fcs_inpaint_op_parent_class)->build(object))
		return -1;
	if (vips_check_size_same("fcs_inpaint", self->in, self->mask) ||
		!(model = fcs_vips_model("fcs_inpaint", ((FcsSampleOp *) self)->model, ((FcsSampleOp *) self)->lora, NULL,
			((FcsSampleOp *) self)->precision_value)))
		return -1;
	if (!fcs_vips_input(object, self->in, &image, &like))
		return -1;
	if (!fcs_vips_input(object, self->mask, &mask, &mask_like)) {
		g_free(image.data);
		return -1;
	}
	fcs_sample_op_fill((FcsSampleOp *) self, &params, 20);
	params.paste_back = !self->no_paste_back;
	fcs_vips_progress_begin(&progress, &self->out, 1, &params);
	status = fcs_inpaint(model, &image, &mask, &params, &result);
	fcs_vips_progress_end(&progress);
	g_free(image.data);
	g_free(mask.data);
	if (status != FCS_OK)
		return fcs_vips_error("fcs_inpaint");
	status = fcs_vips_output(&result, like, self->out);
	fcs_image_free(&result);
	return status;
}

static void
fcs_inpaint_op_class_init(FcsInpaintOpClass *class)
{
	GObjectClass *gobject_class = G_OBJECT_CLASS(class);
	VipsObjectClass *object_class = VIPS_OBJECT_CLASS(class);

	gobject_class->set_property = vips_object_set_property;
	gobject_class->get_property = vips_object_get_property;

	object_class->nickname = "fcs_inpaint";
	object_class->description = "fill the masked pixels with Stable Diffusion (fast constrained sampling)";
	object_class->build = fcs_inpaint_op_build;

	VIPS_ARG_IMAGE(class, "in", 1, "Input", "Image to fill",
		VIPS_ARGUMENT_REQUIRED_INPUT, G_STRUCT_OFFSET(FcsInpaintOp, in));
	VIPS_ARG_IMAGE(class, "mask", 2, "Mask", "Pixels at or above half range (white) are filled",
		VIPS_ARGUMENT_REQUIRED_INPUT, G_STRUCT_OFFSET(FcsInpaintOp, mask));
	VIPS_ARG_IMAGE(class, "out", 3, "Output", "Filled image",
		VIPS_ARGUMENT_REQUIRED_OUTPUT, G_STRUCT_OFFSET(FcsInpaintOp, out));
	VIPS_ARG_BOOL(class, "no_paste_back", 30, "No paste-back",
		"Output the sampler's image as is, as the paper (default: known pixels kept exactly, soft seam)",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsInpaintOp, no_paste_back), FALSE);
}

static void
fcs_inpaint_op_init(FcsInpaintOp *self)
{
	(void) self;
}

/* ---- fcs_superres ----------------------------------------------------------------------- */

typedef struct _FcsSuperresOp {
	FcsSampleOp parent_instance;
	VipsImage *in;
	VipsImage *out;
	int scale;
	char *transport_vae;
} FcsSuperresOp;

typedef FcsSampleOpClass FcsSuperresOpClass;

G_DEFINE_TYPE(FcsSuperresOp, fcs_superres_op, fcs_sample_op_get_type());

static int
fcs_superres_op_build(VipsObject *object)
{
	FcsSuperresOp *self = (FcsSuperresOp *) object;
	fcs_image image = { 0 }, result = { 0 };
	fcs_sample_params params = fcs_sample_params_default();
	FcsVipsProgress progress;
	VipsImage *like;
	fcs_model *model;
	int status;

	g_object_set(object, "out", vips_image_new(), NULL);
	if (VIPS_OBJECT_CLASS(fcs_superres_op_parent_class)->build(object))
		return -1;
	if (self->scale != 2 && self->scale != 4 && self->scale != 8) {
		vips_error("fcs_superres", "scale must be 2, 4 or 8, not %d", self->scale);
		return -1;
	}
	if (!(model = fcs_vips_model("fcs_superres", ((FcsSampleOp *) self)->model, ((FcsSampleOp *) self)->lora, self->transport_vae,
			((FcsSampleOp *) self)->precision_value)) ||
		!fcs_vips_input(object, self->in, &image, &like))
		return -1;
	fcs_sample_op_fill((FcsSampleOp *) self, &params, 20);
	fcs_vips_progress_begin(&progress, &self->out, 1, &params);
	status = fcs_super_resolve(model, &image, self->scale, &params, &result);
	fcs_vips_progress_end(&progress);
	g_free(image.data);
	if (status != FCS_OK)
		return fcs_vips_error("fcs_superres");
	status = fcs_vips_output(&result, like, self->out);
	fcs_image_free(&result);
	return status;
}

static void
fcs_superres_op_class_init(FcsSuperresOpClass *class)
{
	GObjectClass *gobject_class = G_OBJECT_CLASS(class);
	VipsObjectClass *object_class = VIPS_OBJECT_CLASS(class);

	gobject_class->set_property = vips_object_set_property;
	gobject_class->get_property = vips_object_get_property;

	object_class->nickname = "fcs_superres";
	object_class->description = "upscale ×2, ×4 or ×8 with Stable Diffusion (fast constrained sampling)";
	object_class->build = fcs_superres_op_build;

	VIPS_ARG_IMAGE(class, "in", 1, "Input", "Low-resolution image",
		VIPS_ARGUMENT_REQUIRED_INPUT, G_STRUCT_OFFSET(FcsSuperresOp, in));
	VIPS_ARG_IMAGE(class, "out", 2, "Output", "Upscaled image",
		VIPS_ARGUMENT_REQUIRED_OUTPUT, G_STRUCT_OFFSET(FcsSuperresOp, out));
	VIPS_ARG_INT(class, "scale", 30, "Scale", "Upscaling factor: 2, 4 or 8",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsSuperresOp, scale), 2, 8, 4);
	VIPS_ARG_STRING(class, "transport_vae", 31, "Transport VAE",
		"Diffusers AutoencoderTiny (TAESD) folder for the inner loop's VAE passes; the final decode "
		"stays the model's VAE (default: the model's VAE throughout; quality untested)",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsSuperresOp, transport_vae), NULL);
}

static void
fcs_superres_op_init(FcsSuperresOp *self)
{
	self->scale = 4;
}

/* ---- fcs_deblur and fcs_colorize: fcs_solve with a blur or luminance ---------------------- */

typedef struct _FcsSolveOp {
	FcsSampleOp parent_instance;
	VipsImage *in;
	VipsImage *out;
	double sigma;       /* fcs_deblur */
	VipsImage *kernel;  /* fcs_deblur, optional */
} FcsSolveOp;

typedef FcsSampleOpClass FcsSolveOpClass;

/* fcs_solve on in under constraint (kernel: its pixels, if the op has one) into out. */
static int
fcs_solve_op_run(FcsSolveOp *self, const char *domain, fcs_constraint *constraint)
{
	VipsObject *object = (VipsObject *) self;
	fcs_image image = { 0 }, kernel = { 0 }, result = { 0 };
	fcs_sample_params params = fcs_sample_params_default();
	FcsVipsProgress progress;
	VipsImage *like, *kernel_like;
	fcs_model *model;
	int status;

	if (!(model = fcs_vips_model(domain, ((FcsSampleOp *) self)->model, ((FcsSampleOp *) self)->lora, NULL,
			((FcsSampleOp *) self)->precision_value)) ||
		!fcs_vips_input(object, self->in, &image, &like))
		return -1;
	if (self->kernel) {
		if (!fcs_vips_input(object, self->kernel, &kernel, &kernel_like)) {
			g_free(image.data);
			return -1;
		}
		constraint->kind = FCS_CONSTRAINT_KERNEL_BLUR;
		constraint->kernel = &kernel;
	}
	fcs_sample_op_fill((FcsSampleOp *) self, &params, 20);
	fcs_vips_progress_begin(&progress, &self->out, 1, &params);
	status = fcs_solve(model, &image, constraint, &params, &result);
	fcs_vips_progress_end(&progress);
	g_free(image.data);
	g_free(kernel.data);
	if (status != FCS_OK)
		return fcs_vips_error(domain);
	status = fcs_vips_output(&result, like, self->out);
	fcs_image_free(&result);
	return status;
}

static void
fcs_solve_op_arguments(FcsSolveOpClass *class, const char *in, const char *out)
{
	GObjectClass *gobject_class = G_OBJECT_CLASS(class);

	gobject_class->set_property = vips_object_set_property;
	gobject_class->get_property = vips_object_get_property;
	VIPS_ARG_IMAGE(class, "in", 1, "Input", in,
		VIPS_ARGUMENT_REQUIRED_INPUT, G_STRUCT_OFFSET(FcsSolveOp, in));
	VIPS_ARG_IMAGE(class, "out", 2, "Output", out,
		VIPS_ARGUMENT_REQUIRED_OUTPUT, G_STRUCT_OFFSET(FcsSolveOp, out));
}

typedef FcsSolveOp FcsDeblurOp;
typedef FcsSolveOpClass FcsDeblurOpClass;

G_DEFINE_TYPE(FcsDeblurOp, fcs_deblur_op, fcs_sample_op_get_type());

static int
fcs_deblur_op_build(VipsObject *object)
{
	FcsSolveOp *self = (FcsSolveOp *) object;
	fcs_constraint constraint = fcs_constraint_default();

	g_object_set(object, "out", vips_image_new(), NULL);
	if (VIPS_OBJECT_CLASS(fcs_deblur_op_parent_class)->build(object))
		return -1;
	constraint.kind = FCS_CONSTRAINT_GAUSSIAN_BLUR;
	constraint.sigma = (float) self->sigma;
	return fcs_solve_op_run(self, "fcs_deblur", &constraint);
}

static void
fcs_deblur_op_class_init(FcsDeblurOpClass *class)
{
	VipsObjectClass *object_class = VIPS_OBJECT_CLASS(class);
	fcs_constraint defaults = fcs_constraint_default();

	object_class->nickname = "fcs_deblur";
	object_class->description = "remove a known blur with Stable Diffusion (fast constrained sampling)";
	object_class->build = fcs_deblur_op_build;
	fcs_solve_op_arguments(class, "Blurred image", "Deblurred image");
	VIPS_ARG_DOUBLE(class, "sigma", 30, "Sigma", "The Gaussian blur's standard deviation in pixels, (0, 30]",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsSolveOp, sigma), 0.0, 30.0, defaults.sigma);
	VIPS_ARG_IMAGE(class, "kernel", 31, "Kernel",
		"The blur's point-spread function (first band; odd sides up to 255; scaled to sum 1), instead of sigma",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsSolveOp, kernel));
}

static void
fcs_deblur_op_init(FcsDeblurOp *self)
{
	self->sigma = fcs_constraint_default().sigma;
}

typedef FcsSolveOp FcsColorizeOp;
typedef FcsSolveOpClass FcsColorizeOpClass;

G_DEFINE_TYPE(FcsColorizeOp, fcs_colorize_op, fcs_sample_op_get_type());

static int
fcs_colorize_op_build(VipsObject *object)
{
	fcs_constraint constraint = fcs_constraint_default();

	g_object_set(object, "out", vips_image_new(), NULL);
	if (VIPS_OBJECT_CLASS(fcs_colorize_op_parent_class)->build(object))
		return -1;
	constraint.kind = FCS_CONSTRAINT_LUMINANCE;
	return fcs_solve_op_run((FcsSolveOp *) object, "fcs_colorize", &constraint);
}

static void
fcs_colorize_op_class_init(FcsColorizeOpClass *class)
{
	VipsObjectClass *object_class = VIPS_OBJECT_CLASS(class);

	object_class->nickname = "fcs_colorize";
	object_class->description = "colour a grey image, keeping its luminance, with Stable Diffusion (fast constrained sampling)";
	object_class->build = fcs_colorize_op_build;
	fcs_solve_op_arguments(class, "Grey image", "Colour image");
}

static void
fcs_colorize_op_init(FcsColorizeOp *self)
{
	(void) self;
}

/* ---- fcs_layers ------------------------------------------------------------------------- */

typedef struct _FcsLayersOp {
	FcsSampleOp parent_instance;
	VipsImage *in;
	VipsImage *layer1;
	VipsImage *layer2;
	VipsImage *mask;
	VipsImage *hint;
	int iterations;
	int samples;
	int restarts;
} FcsLayersOp;

typedef FcsSampleOpClass FcsLayersOpClass;

G_DEFINE_TYPE(FcsLayersOp, fcs_layers_op, fcs_sample_op_get_type());

static int
fcs_layers_op_build(VipsObject *object)
{
	FcsLayersOp *self = (FcsLayersOp *) object;
	fcs_image image = { 0 }, hint = { 0 }, results[3] = { { 0 }, { 0 }, { 0 } };
	fcs_layer_params params = fcs_layer_params_default();
	FcsVipsProgress progress;
	VipsImage *like, *hint_like, *outs[3];
	fcs_model *model;
	int status, i;

	g_object_set(object, "layer1", vips_image_new(), "layer2", vips_image_new(), "mask", vips_image_new(), NULL);
	if (VIPS_OBJECT_CLASS(fcs_layers_op_parent_class)->build(object))
		return -1;
	if (!(model = fcs_vips_model("fcs_layers", ((FcsSampleOp *) self)->model, ((FcsSampleOp *) self)->lora, NULL,
			((FcsSampleOp *) self)->precision_value)) ||
		!fcs_vips_input(object, self->in, &image, &like))
		return -1;
	if (self->hint && (vips_check_size_same("fcs_layers", self->in, self->hint) ||
		    !fcs_vips_input(object, self->hint, &hint, &hint_like))) {
		g_free(image.data);
		return -1;
	}
	fcs_sample_op_fill((FcsSampleOp *) self, &params.sample, params.sample.steps);
	params.iterations = self->iterations;
	params.samples_per_layer = self->samples;
	params.restarts = self->restarts;
	params.hint = self->hint ? &hint : NULL;
	outs[0] = self->layer1;
	outs[1] = self->layer2;
	outs[2] = self->mask;
	fcs_vips_progress_begin(&progress, outs, 3, &params.sample);
	status = fcs_extract_layers(model, &image, &params, &results[0], &results[1], &results[2]);
	fcs_vips_progress_end(&progress);
	g_free(image.data);
	g_free(hint.data);
	if (status != FCS_OK)
		return fcs_vips_error("fcs_layers");
	status = 0;
	for (i = 0; i < 3; i++)
		status = status || fcs_vips_output(&results[i], like, outs[i]);
	for (i = 0; i < 3; i++)
		fcs_image_free(&results[i]);
	return status ? -1 : 0;
}

static void
fcs_layers_op_class_init(FcsLayersOpClass *class)
{
	GObjectClass *gobject_class = G_OBJECT_CLASS(class);
	VipsObjectClass *object_class = VIPS_OBJECT_CLASS(class);

	gobject_class->set_property = vips_object_set_property;
	gobject_class->get_property = vips_object_get_property;

	object_class->nickname = "fcs_layers";
	object_class->description = "split an image into two layers and a soft mask (fast constrained sampling)";
	object_class->build = fcs_layers_op_build;

	VIPS_ARG_IMAGE(class, "in", 1, "Input", "Image to split",
		VIPS_ARGUMENT_REQUIRED_INPUT, G_STRUCT_OFFSET(FcsLayersOp, in));
	VIPS_ARG_IMAGE(class, "layer1", 2, "Layer 1", "First layer",
		VIPS_ARGUMENT_REQUIRED_OUTPUT, G_STRUCT_OFFSET(FcsLayersOp, layer1));
	VIPS_ARG_IMAGE(class, "layer2", 3, "Layer 2", "Second layer",
		VIPS_ARGUMENT_REQUIRED_OUTPUT, G_STRUCT_OFFSET(FcsLayersOp, layer2));
	VIPS_ARG_IMAGE(class, "mask", 4, "Mask", "Ownership of layer 1 (white = layer 1)",
		VIPS_ARGUMENT_REQUIRED_OUTPUT, G_STRUCT_OFFSET(FcsLayersOp, mask));
	VIPS_ARG_IMAGE(class, "hint", 30, "Hint", "Initial mask of layer 1, instead of a random start",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsLayersOp, hint));
	VIPS_ARG_INT(class, "iterations", 31, "Iterations", "EM iterations",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsLayersOp, iterations), 1, 100, 3);
	VIPS_ARG_INT(class, "samples", 32, "Samples", "Samples per layer and iteration",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsLayersOp, samples), 1, 100, 3);
	VIPS_ARG_INT(class, "restarts", 33, "Restarts", "Random starts, the best kept",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsLayersOp, restarts), 1, 100, 2);
}

static void
fcs_layers_op_init(FcsLayersOp *self)
{
	fcs_layer_params defaults = fcs_layer_params_default();

	self->iterations = defaults.iterations;
	self->samples = defaults.samples_per_layer;
	self->restarts = defaults.restarts;
	((FcsSampleOp *) self)->steps = defaults.sample.steps;
}

/* ---- registration ----------------------------------------------------------------------- */

/* For hosts that dlopen this file themselves (pyvips with a private copy, C programs).
 * A second copy of the plugin must not register the types again (pitfall P12). */
G_MODULE_EXPORT int
fcs_vips_init(void)
{
	if (g_type_from_name("FcsSampleOp"))
		return 0;
	fcs_inpaint_op_get_type();
	fcs_superres_op_get_type();
	fcs_deblur_op_get_type();
	fcs_colorize_op_get_type();
	fcs_layers_op_get_type();
	return 0;
}

G_MODULE_EXPORT const gchar *
g_module_check_init(GModule *module)
{
	g_module_make_resident(module); /* static GTypes: never unload */
	fcs_vips_init();
	return NULL;
}

#if VIPS_ENABLE_DEPRECATED
/* Only for `vips --plugin FILE` on deprecated-enabled builds such as Debian's (P17). */
G_MODULE_EXPORT im_package package_table = { "fcs", 0, NULL };
#endif
