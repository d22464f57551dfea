/* fcs_vips.c — libvips operations over libfcs:
 *
 *   vips fcs_inpaint in mask out [--model M] [--lora-paths A,B --lora-scales 0.8,1] [--steps N] [--seed S] ...
 *   vips fcs_super_resolve in out scale ...
 *   vips fcs_deblur in out [--sigma 1 | --kernel psf.png] ...
 *   vips fcs_colorize in out ...
 *   vips fcs_extract_layers in layer1 layer2 mask ...
 *
 * Every optional argument is named as its field of fcs_model_params, fcs_sample_params or
 * fcs_layer_params, and its default is that of fcs_*_params_default() (the header's FCS_DEFAULT_*
 * macros). The model comes from --model or the FCS_MODEL environment variable, with the LoRA files
 * of --lora-paths merged in, and is loaded once per process for each model and set of model
 * arguments (kept for the process's life: hosts like pyvips call an operation many times).
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

/* ---- models, loaded once per path and model arguments ----------------------------------- */

static GMutex fcs_vips_models_lock;
static GHashTable *fcs_vips_models; /* the model arguments, as fcs_vips_model writes them -> fcs_model* */

/* The model arguments, as the operation's strings: comma-separated lists for the LoRA files and
 * their scales (NULL or "" for none; scales default to 1 each). fcs validates every value. */
typedef struct _FcsVipsModelArgs {
	const char *path;
	fcs_weight_type weight_type;
	fcs_file_variant variant;
	const char *config_folder;
	const char *transport_vae;
	const char *lora_paths;
	const char *lora_scales;
	fcs_precision precision;
} FcsVipsModelArgs;

/* The numbers of a comma-separated list ("0.5,0.3") in a new array (g_free), *n of them; NULL
 * (with a vips error naming the argument) when an item is no number. "" or NULL: none. */
static float *
fcs_vips_numbers(const char *domain, const char *name, const char *text, int *n)
{
	char **items = g_strsplit(text ? text : "", ",", -1);
	int count = text && *text ? (int) g_strv_length(items) : 0, i;
	float *values = g_new0(float, count + 1);
	char *end;

	for (i = 0; i < count; i++) {
		values[i] = (float) g_ascii_strtod(items[i], &end);
		if (end == items[i] || *end != '\0') {
			vips_error(domain, "%s must be numbers separated by commas, not \"%s\"", name, text);
			g_free(values);
			g_strfreev(items);
			return NULL;
		}
	}
	g_strfreev(items);
	*n = count;
	return values;
}

/* Loads args->path with args' model parameters; -1 with a vips error on failure. */
static int
fcs_vips_load(const char *domain, const FcsVipsModelArgs *args, fcs_model **model)
{
	const char *text = args->lora_paths ? args->lora_paths : "";
	char **paths = g_strsplit(text, ",", -1);
	int n = *text ? (int) g_strv_length(paths) : 0, n_scales = 0, i;
	float *scales = NULL;
	fcs_model_params params = fcs_model_params_default();
	int status = -1;

	if (args->lora_scales && *args->lora_scales) {
		if (!(scales = fcs_vips_numbers(domain, "lora_scales", args->lora_scales, &n_scales)))
			goto done;
		if (n_scales != n) {
			vips_error(domain, "lora_scales has %d values for %d lora_paths files", n_scales, n);
			goto done;
		}
	} else {
		scales = g_new0(float, n + 1);
		for (i = 0; i < n; i++)
			scales[i] = 1.0f;
	}
	params.weight_type = args->weight_type;
	params.variant = args->variant;
	params.config_folder = args->config_folder && *args->config_folder ? args->config_folder : NULL;
	params.transport_vae = args->transport_vae && *args->transport_vae ? args->transport_vae : NULL;
	params.lora_paths = (const char *const *) paths;
	params.lora_scales = scales;
	params.n_loras = n;
	params.precision = args->precision;
	if (fcs_model_load(args->path, &params, model) == FCS_OK)
		status = 0;
	else
		vips_error(domain, "%s", fcs_last_error());
done:
	g_free(scales);
	g_strfreev(paths);
	return status;
}

/* The loaded model for args (args->path NULL or "": FCS_MODEL). */
static fcs_model *
fcs_vips_model(const char *domain, FcsVipsModelArgs args)
{
	fcs_model *model;
	char *key;

	if (!args.path || !*args.path)
		args.path = g_getenv("FCS_MODEL");
	if (!args.path || !*args.path) {
		vips_error(domain, "%s", "no model: give --model PATH (a diffusers folder, "
			".safetensors file or hub-cache name) or set FCS_MODEL");
		return NULL;
	}
	/* the length prefixes keep the key unambiguous whatever characters the strings hold */
#define FCS_VIPS_KEY_PART(s) strlen((s) ? (s) : ""), (s) ? (s) : ""
	key = g_strdup_printf("%d:%d:%d:%zu:%s%zu:%s%zu:%s%zu:%s%zu:%s", (int) args.weight_type, (int) args.variant,
		(int) args.precision, FCS_VIPS_KEY_PART(args.path), FCS_VIPS_KEY_PART(args.config_folder),
		FCS_VIPS_KEY_PART(args.transport_vae), FCS_VIPS_KEY_PART(args.lora_paths), FCS_VIPS_KEY_PART(args.lora_scales));
#undef FCS_VIPS_KEY_PART
	g_mutex_lock(&fcs_vips_models_lock);
	if (!fcs_vips_models)
		fcs_vips_models = g_hash_table_new(g_str_hash, g_str_equal);
	model = g_hash_table_lookup(fcs_vips_models, key);
	if (!model && fcs_vips_load(domain, &args, &model) == 0) {
		g_hash_table_insert(fcs_vips_models, key, model);
		key = NULL;
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

/* ---- the enum-valued arguments as GEnum types, by the names fcs gives their values -------- */

/* The names of fcs_weight_type, fcs_file_variant and fcs_inpaint_method values, indexed by value,
 * as the header's comments give them; fcs_sampler and fcs_precision have fcs's name functions. */
static const char *fcs_vips_weight_types[] = { "f32", "f16", NULL };
static const char *fcs_vips_variants[] = { "auto", "fp16", "fp32", NULL };
static const char *fcs_vips_methods[] = { "constrained", "replacement", NULL };

/* A GEnum type whose values 0, 1, … have the static names names[i] (nick and name), registered
 * once, so that vips shows the choices and the default and parses the names itself. As libvips'
 * own enums it ends with a "last" value that vips does not list (fcs refuses it). */
static GType
fcs_vips_enum(const char *type_name, const char *const *names)
{
	GType type = g_type_from_name(type_name);
	GEnumValue *values;
	int n, i;

	if (type)
		return type;
	for (n = 0; names[n]; n++)
		;
	values = g_new0(GEnumValue, n + 2); /* the type's, for the process's life */
	for (i = 0; i <= n; i++) {
		values[i].value = i;
		values[i].value_name = i < n ? names[i] : "last";
		values[i].value_nick = i < n ? names[i] : "last";
	}
	return g_enum_register_static(type_name, values);
}

/* The names of the values 0, 1, … of an enum with a name function, until it returns NULL. */
static const char **
fcs_vips_names(const char *(*name)(int), const char **names, int capacity)
{
	int i;

	for (i = 0; i < capacity - 1 && name(i); i++)
		names[i] = name(i);
	names[i] = NULL;
	return names;
}

static const char *fcs_vips_sampler_name(int value) { return fcs_sampler_name((fcs_sampler) value); }
static const char *fcs_vips_precision_name(int value) { return fcs_precision_name((fcs_precision) value); }

/* ---- the shared base class: model and sampling parameters ------------------------------- */

typedef struct _FcsSampleOp {
	VipsOperation parent_instance;

	/* fcs_model_params, and the model's path */
	char *model;
	int weight_type;
	int variant;
	char *config_folder;
	char *transport_vae;
	char *lora_paths;
	char *lora_scales;
	int precision;

	/* fcs_sample_params */
	guint64 seed;
	int steps;
	int newton_steps;
	char *learning_rates;
	double fd_step;
	char *prompt;
	double guidance_scale;
	int official_timesteps;
	char *noise_path;
	int sampler;

	/* read in build */
	FcsVipsModelArgs model_args;
	float *learning_rates_value; /* g_free in dispose */
	int n_learning_rates;
} FcsSampleOp;

typedef VipsOperationClass FcsSampleOpClass;

G_DEFINE_ABSTRACT_TYPE(FcsSampleOp, fcs_sample_op, VIPS_TYPE_OPERATION);

static void
fcs_sample_op_dispose(GObject *gobject)
{
	FcsSampleOp *self = (FcsSampleOp *) gobject;

	VIPS_FREE(self->learning_rates_value);
	G_OBJECT_CLASS(fcs_sample_op_parent_class)->dispose(gobject);
}

/* Results depend on the seed: without one they are random and must not be cached. */
static VipsOperationFlags
fcs_sample_op_get_flags(VipsOperation *operation)
{
	VipsOperationFlags flags = VIPS_OPERATION_CLASS(fcs_sample_op_parent_class)->get_flags(operation);

	if (!vips_object_argument_isset(VIPS_OBJECT(operation), "seed"))
		flags |= VIPS_OPERATION_NOCACHE;
	return flags;
}

/* Copies the sampling arguments into params, which starts as fcs_sample_params_default() (or the
 * task's own default struct); an unset seed draws a new one. */
static void
fcs_sample_op_fill(FcsSampleOp *self, fcs_sample_params *params)
{
	params->seed = vips_object_argument_isset(VIPS_OBJECT(self), "seed")
		? self->seed
		: ((uint64_t) g_random_int() << 32) | g_random_int();
	params->steps = self->steps;
	params->newton_steps = self->newton_steps;
	params->learning_rates = self->n_learning_rates ? self->learning_rates_value : NULL;
	params->n_learning_rates = self->n_learning_rates;
	params->fd_step = (float) self->fd_step;
	params->prompt = self->prompt;
	params->guidance_scale = (float) self->guidance_scale;
	params->official_timesteps = self->official_timesteps;
	params->noise_path = self->noise_path && *self->noise_path ? self->noise_path : NULL;
	params->sampler = (fcs_sampler) self->sampler;
}

/* Reads the lists before a subclass loads anything: a bad one fails the build. */
static int
fcs_sample_op_build(VipsObject *object)
{
	FcsSampleOp *self = (FcsSampleOp *) object;
	const char *domain = VIPS_OBJECT_GET_CLASS(object)->nickname;

	if (VIPS_OBJECT_CLASS(fcs_sample_op_parent_class)->build(object))
		return -1;
	VIPS_FREE(self->learning_rates_value);
	if (!(self->learning_rates_value = fcs_vips_numbers(domain, "learning_rates", self->learning_rates, &self->n_learning_rates)))
		return -1;
	self->model_args.path = self->model;
	self->model_args.weight_type = (fcs_weight_type) self->weight_type;
	self->model_args.variant = (fcs_file_variant) self->variant;
	self->model_args.precision = (fcs_precision) self->precision;
	self->model_args.config_folder = self->config_folder;
	self->model_args.transport_vae = self->transport_vae;
	self->model_args.lora_paths = self->lora_paths;
	self->model_args.lora_scales = self->lora_scales;
	return 0;
}

/* "steps" is declared by each task: its default differs (fcs_layer_params' sample.steps). */
static void
fcs_sample_op_add_steps(VipsOperationClass *class, int default_steps)
{
	VIPS_ARG_INT(class, "steps", 21, "Steps", "Outer denoising steps",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsSampleOp, steps), 1, 1000, default_steps);
}

/* "noise_path", for the tasks that take one (layer extraction draws many samples). */
static void
fcs_sample_op_add_noise_path(VipsOperationClass *class)
{
	VIPS_ARG_STRING(class, "noise_path", 28, "Noise path",
		"A safetensors file with x_T and z_0 ... z_{steps-1}: the sampler's noise instead of the seed's",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsSampleOp, noise_path), NULL);
}

static void
fcs_sample_op_class_init(FcsSampleOpClass *class)
{
	GObjectClass *gobject_class = G_OBJECT_CLASS(class);
	VipsObjectClass *object_class = VIPS_OBJECT_CLASS(class);
	fcs_model_params model = fcs_model_params_default();
	fcs_sample_params sample = fcs_sample_params_default();
	static const char *samplers[16], *precisions[16];

	gobject_class->dispose = fcs_sample_op_dispose;
	gobject_class->set_property = vips_object_set_property;
	gobject_class->get_property = vips_object_get_property;
	object_class->nickname = "fcs_sample";
	object_class->description = "fast constrained sampling with Stable Diffusion 1.x";
	object_class->build = fcs_sample_op_build;
	class->get_flags = fcs_sample_op_get_flags;

	VIPS_ARG_STRING(class, "model", 10, "Model",
		"Diffusers folder, .safetensors checkpoint or hub-cache name (default: $FCS_MODEL)",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsSampleOp, model), NULL);
	VIPS_ARG_ENUM(class, "weight_type", 11, "Weight type",
		"Weights in memory for fp32 compute: f32 (fastest) or f16 (less memory)",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsSampleOp, weight_type),
		fcs_vips_enum("FcsWeightType", fcs_vips_weight_types), model.weight_type);
	VIPS_ARG_ENUM(class, "variant", 12, "Variant",
		"Which files of a diffusers folder to read: auto (*.safetensors, else *.fp16.safetensors), fp16 or fp32",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsSampleOp, variant),
		fcs_vips_enum("FcsFileVariant", fcs_vips_variants), model.variant);
	VIPS_ARG_STRING(class, "config_folder", 13, "Config folder",
		"Single-file checkpoints: a diffusers folder with the configs and tokenizer (default: SD 1.5's, built in)",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsSampleOp, config_folder), NULL);
	VIPS_ARG_STRING(class, "transport_vae", 14, "Transport VAE",
		"fcs_super_resolve: a diffusers AutoencoderTiny (TAESD) folder for the inner loop's VAE passes; the final "
		"decode stays the model's VAE (default: the model's VAE throughout; quality untested)",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsSampleOp, transport_vae), NULL);
	VIPS_ARG_STRING(class, "lora_paths", 15, "LoRA paths",
		"LoRA .safetensors files merged into the model at load, comma-separated (default: none)",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsSampleOp, lora_paths), NULL);
	VIPS_ARG_STRING(class, "lora_scales", 16, "LoRA scales",
		"The LoRA files' scales, comma-separated, one per file (default: 1 each)",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsSampleOp, lora_scales), NULL);
	VIPS_ARG_ENUM(class, "precision", 17, "Precision",
		"Compute precision: auto (bf16 where the CPU has AVX512_BF16, else fp32), fp32, or bf16 (bf16 "
		"products, fp32 sums: about twice as fast with AVX512_BF16)",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsSampleOp, precision),
		fcs_vips_enum("FcsPrecision", fcs_vips_names(fcs_vips_precision_name, precisions, 16)), model.precision);

	VIPS_ARG_UINT64(class, "seed", 20, "Seed", "Random seed (default: a new one each call)",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsSampleOp, seed), 0, G_MAXUINT64, sample.seed);
	VIPS_ARG_INT(class, "newton_steps", 22, "Newton steps",
		"Inner correction steps K per step (-1: the task's default)",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsSampleOp, newton_steps), -1, 100, sample.newton_steps);
	VIPS_ARG_STRING(class, "learning_rates", 23, "Learning rates",
		"Learning rates of the inner steps, comma-separated, the last repeating (default: the task's)",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsSampleOp, learning_rates), NULL);
	VIPS_ARG_DOUBLE(class, "fd_step", 24, "Finite-difference step", "h of the Jacobian finite difference",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsSampleOp, fd_step), 1e-6, 1.0, sample.fd_step);
	VIPS_ARG_STRING(class, "prompt", 25, "Prompt", "Text prompt (default: none, as the paper)",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsSampleOp, prompt), "");
	VIPS_ARG_DOUBLE(class, "guidance_scale", 26, "Guidance scale", "Classifier-free guidance scale, on when > 1",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsSampleOp, guidance_scale), 0.0, 100.0, sample.guidance_scale);
	VIPS_ARG_INT(class, "official_timesteps", 27, "Official timesteps",
		"1: the official notebooks' UNet timestep t instead of t - 1",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsSampleOp, official_timesteps), 0, 1, sample.official_timesteps);
	VIPS_ARG_ENUM(class, "sampler", 29, "Sampler",
		"Outer sampler: paper, dpm++2m (DPM-Solver++(2M), about 10 steps) or lcm (LCM checkpoints, 4-8 steps)",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsSampleOp, sampler),
		fcs_vips_enum("FcsSampler", fcs_vips_names(fcs_vips_sampler_name, samplers, 16)), sample.sampler);
}

static void
fcs_sample_op_init(FcsSampleOp *self)
{
	fcs_model_params model = fcs_model_params_default();
	fcs_sample_params sample = fcs_sample_params_default();

	self->weight_type = model.weight_type;
	self->variant = model.variant;
	self->precision = model.precision;
	self->seed = sample.seed;
	self->steps = sample.steps;
	self->newton_steps = sample.newton_steps;
	self->fd_step = sample.fd_step;
	self->prompt = g_strdup("");
	self->guidance_scale = sample.guidance_scale;
	self->official_timesteps = sample.official_timesteps;
	self->sampler = sample.sampler;
}

/* ---- fcs_inpaint ------------------------------------------------------------------------ */

typedef struct _FcsInpaintOp {
	FcsSampleOp parent_instance;
	VipsImage *in;
	VipsImage *mask;
	VipsImage *out;
	int paste_back;
	int seam_width;
	int context_crop_above;
	int context_size;
	int method;
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
		!(model = fcs_vips_model("fcs_inpaint", ((FcsSampleOp *) self)->model_args)))
		return -1;
	if (!fcs_vips_input(object, self->in, &image, &like))
		return -1;
	if (!fcs_vips_input(object, self->mask, &mask, &mask_like)) {
		g_free(image.data);
		return -1;
	}
	fcs_sample_op_fill((FcsSampleOp *) self, &params);
	params.paste_back = self->paste_back;
	params.seam_width = self->seam_width;
	params.context_crop_above = self->context_crop_above;
	params.context_size = self->context_size;
	params.method = (fcs_inpaint_method) self->method;
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
	fcs_sample_params sample = fcs_sample_params_default();

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
	fcs_sample_op_add_steps(class, sample.steps);
	fcs_sample_op_add_noise_path(class);
	/* an int, as the C field: libvips wants boolean arguments to default to false */
	VIPS_ARG_INT(class, "paste_back", 30, "Paste back",
		"1: keep the known pixels exactly, blended over a seam; 0: the sampler's image as is, as the paper",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsInpaintOp, paste_back), 0, 1, sample.paste_back);
	VIPS_ARG_INT(class, "seam_width", 31, "Seam width", "Width of the seam in pixels",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsInpaintOp, seam_width), 1, 256, sample.seam_width);
	VIPS_ARG_INT(class, "context_crop_above", 32, "Context crop above",
		"Images with a longer side are sampled through a context window around the hole (0: never)",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsInpaintOp, context_crop_above), 0, 1 << 28, sample.context_crop_above);
	VIPS_ARG_INT(class, "context_size", 33, "Context size", "The side the context window is shrunk to, at most",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsInpaintOp, context_size), 64, 8192, sample.context_size);
	VIPS_ARG_ENUM(class, "method", 34, "Method", "constrained (fcs) or replacement (the baseline, for comparisons)",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsInpaintOp, method),
		fcs_vips_enum("FcsInpaintMethod", fcs_vips_methods), sample.method);
}

static void
fcs_inpaint_op_init(FcsInpaintOp *self)
{
	fcs_sample_params sample = fcs_sample_params_default();

	self->paste_back = sample.paste_back;
	self->seam_width = sample.seam_width;
	self->context_crop_above = sample.context_crop_above;
	self->context_size = sample.context_size;
	self->method = sample.method;
}

/* ---- fcs_super_resolve ------------------------------------------------------------------ */

typedef struct _FcsSuperResolveOp {
	FcsSampleOp parent_instance;
	VipsImage *in;
	VipsImage *out;
	int scale;
} FcsSuperResolveOp;

typedef FcsSampleOpClass FcsSuperResolveOpClass;

G_DEFINE_TYPE(FcsSuperResolveOp, fcs_super_resolve_op, fcs_sample_op_get_type());

static int
fcs_super_resolve_op_build(VipsObject *object)
{
	FcsSuperResolveOp *self = (FcsSuperResolveOp *) object;
	fcs_image image = { 0 }, result = { 0 };
	fcs_sample_params params = fcs_sample_params_default();
	FcsVipsProgress progress;
	VipsImage *like;
	fcs_model *model;
	int status;

	g_object_set(object, "out", vips_image_new(), NULL);
	if (VIPS_OBJECT_CLASS(fcs_super_resolve_op_parent_class)->build(object))
		return -1;
	if (self->scale != 2 && self->scale != 4 && self->scale != 8) {
		vips_error("fcs_super_resolve", "scale must be 2, 4 or 8, not %d", self->scale);
		return -1;
	}
	if (!(model = fcs_vips_model("fcs_super_resolve", ((FcsSampleOp *) self)->model_args)) ||
		!fcs_vips_input(object, self->in, &image, &like))
		return -1;
	fcs_sample_op_fill((FcsSampleOp *) self, &params);
	fcs_vips_progress_begin(&progress, &self->out, 1, &params);
	status = fcs_super_resolve(model, &image, self->scale, &params, &result);
	fcs_vips_progress_end(&progress);
	g_free(image.data);
	if (status != FCS_OK)
		return fcs_vips_error("fcs_super_resolve");
	status = fcs_vips_output(&result, like, self->out);
	fcs_image_free(&result);
	return status;
}

static void
fcs_super_resolve_op_class_init(FcsSuperResolveOpClass *class)
{
	GObjectClass *gobject_class = G_OBJECT_CLASS(class);
	VipsObjectClass *object_class = VIPS_OBJECT_CLASS(class);

	gobject_class->set_property = vips_object_set_property;
	gobject_class->get_property = vips_object_get_property;

	object_class->nickname = "fcs_super_resolve";
	object_class->description = "upscale ×2, ×4 or ×8 with Stable Diffusion (fast constrained sampling)";
	object_class->build = fcs_super_resolve_op_build;

	VIPS_ARG_IMAGE(class, "in", 1, "Input", "Low-resolution image",
		VIPS_ARGUMENT_REQUIRED_INPUT, G_STRUCT_OFFSET(FcsSuperResolveOp, in));
	VIPS_ARG_IMAGE(class, "out", 2, "Output", "Upscaled image",
		VIPS_ARGUMENT_REQUIRED_OUTPUT, G_STRUCT_OFFSET(FcsSuperResolveOp, out));
	/* required, as in fcs_super_resolve(): the library has no default factor */
	VIPS_ARG_INT(class, "scale", 3, "Scale", "Upscaling factor: 2, 4 or 8",
		VIPS_ARGUMENT_REQUIRED_INPUT, G_STRUCT_OFFSET(FcsSuperResolveOp, scale), 2, 8, 2);
	fcs_sample_op_add_steps(class, fcs_sample_params_default().steps);
	fcs_sample_op_add_noise_path(class);
}

static void
fcs_super_resolve_op_init(FcsSuperResolveOp *self)
{
	(void) self;
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

	if (!(model = fcs_vips_model(domain, ((FcsSampleOp *) self)->model_args)) ||
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
	fcs_sample_op_fill((FcsSampleOp *) self, &params);
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
	fcs_sample_op_add_steps(class, fcs_sample_params_default().steps);
	fcs_sample_op_add_noise_path(class);
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

/* ---- fcs_extract_layers ----------------------------------------------------------------- */

typedef struct _FcsExtractLayersOp {
	FcsSampleOp parent_instance;
	VipsImage *in;
	VipsImage *layer1;
	VipsImage *layer2;
	VipsImage *mask;
	VipsImage *hint;
	int iterations;
	int samples_per_layer;
	int restarts;
	int block_size;
} FcsExtractLayersOp;

typedef FcsSampleOpClass FcsExtractLayersOpClass;

G_DEFINE_TYPE(FcsExtractLayersOp, fcs_extract_layers_op, fcs_sample_op_get_type());

static int
fcs_extract_layers_op_build(VipsObject *object)
{
	FcsExtractLayersOp *self = (FcsExtractLayersOp *) object;
	fcs_image image = { 0 }, hint = { 0 }, results[3] = { { 0 }, { 0 }, { 0 } };
	fcs_layer_params params = fcs_layer_params_default();
	FcsVipsProgress progress;
	VipsImage *like, *hint_like, *outs[3];
	fcs_model *model;
	int status, i;

	g_object_set(object, "layer1", vips_image_new(), "layer2", vips_image_new(), "mask", vips_image_new(), NULL);
	if (VIPS_OBJECT_CLASS(fcs_extract_layers_op_parent_class)->build(object))
		return -1;
	if (!(model = fcs_vips_model("fcs_extract_layers", ((FcsSampleOp *) self)->model_args)) ||
		!fcs_vips_input(object, self->in, &image, &like))
		return -1;
	if (self->hint && (vips_check_size_same("fcs_extract_layers", self->in, self->hint) ||
		    !fcs_vips_input(object, self->hint, &hint, &hint_like))) {
		g_free(image.data);
		return -1;
	}
	fcs_sample_op_fill((FcsSampleOp *) self, &params.sample);
	params.iterations = self->iterations;
	params.samples_per_layer = self->samples_per_layer;
	params.restarts = self->restarts;
	params.block_size = self->block_size;
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
		return fcs_vips_error("fcs_extract_layers");
	status = 0;
	for (i = 0; i < 3; i++)
		status = status || fcs_vips_output(&results[i], like, outs[i]);
	for (i = 0; i < 3; i++)
		fcs_image_free(&results[i]);
	return status ? -1 : 0;
}

static void
fcs_extract_layers_op_class_init(FcsExtractLayersOpClass *class)
{
	GObjectClass *gobject_class = G_OBJECT_CLASS(class);
	VipsObjectClass *object_class = VIPS_OBJECT_CLASS(class);
	fcs_layer_params layer = fcs_layer_params_default();

	gobject_class->set_property = vips_object_set_property;
	gobject_class->get_property = vips_object_get_property;

	object_class->nickname = "fcs_extract_layers";
	object_class->description = "split an image into two layers and a soft mask (fast constrained sampling)";
	object_class->build = fcs_extract_layers_op_build;

	VIPS_ARG_IMAGE(class, "in", 1, "Input", "Image to split",
		VIPS_ARGUMENT_REQUIRED_INPUT, G_STRUCT_OFFSET(FcsExtractLayersOp, in));
	VIPS_ARG_IMAGE(class, "layer1", 2, "Layer 1", "First layer",
		VIPS_ARGUMENT_REQUIRED_OUTPUT, G_STRUCT_OFFSET(FcsExtractLayersOp, layer1));
	VIPS_ARG_IMAGE(class, "layer2", 3, "Layer 2", "Second layer",
		VIPS_ARGUMENT_REQUIRED_OUTPUT, G_STRUCT_OFFSET(FcsExtractLayersOp, layer2));
	VIPS_ARG_IMAGE(class, "mask", 4, "Mask", "Ownership of layer 1 (white = layer 1)",
		VIPS_ARGUMENT_REQUIRED_OUTPUT, G_STRUCT_OFFSET(FcsExtractLayersOp, mask));
	fcs_sample_op_add_steps(class, layer.sample.steps);
	VIPS_ARG_IMAGE(class, "hint", 30, "Hint", "Initial mask of layer 1, instead of a random start",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsExtractLayersOp, hint));
	VIPS_ARG_INT(class, "iterations", 31, "Iterations", "EM iterations",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsExtractLayersOp, iterations), 1, 100, layer.iterations);
	VIPS_ARG_INT(class, "samples_per_layer", 32, "Samples per layer", "Samples per layer and iteration",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsExtractLayersOp, samples_per_layer), 1, 100, layer.samples_per_layer);
	VIPS_ARG_INT(class, "restarts", 33, "Restarts", "Random starts, the best kept",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsExtractLayersOp, restarts), 1, 100, layer.restarts);
	VIPS_ARG_INT(class, "block_size", 34, "Block size", "Side of the random initial mask's blocks, in pixels",
		VIPS_ARGUMENT_OPTIONAL_INPUT, G_STRUCT_OFFSET(FcsExtractLayersOp, block_size), 8, 2048, layer.block_size);
}

static void
fcs_extract_layers_op_init(FcsExtractLayersOp *self)
{
	fcs_layer_params layer = fcs_layer_params_default();

	self->iterations = layer.iterations;
	self->samples_per_layer = layer.samples_per_layer;
	self->restarts = layer.restarts;
	self->block_size = layer.block_size;
	((FcsSampleOp *) self)->steps = layer.sample.steps;
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
	fcs_super_resolve_op_get_type();
	fcs_deblur_op_get_type();
	fcs_colorize_op_get_type();
	fcs_extract_layers_op_get_type();
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
