/*
 * fcs.h — fast constrained sampling with Stable Diffusion 1.x models on the CPU:
 * inpainting, super-resolution and layer extraction, with no training and no backpropagation.
 *
 * Conventions (the whole API follows them):
 *  - Every function that can fail returns an fcs_status; on failure fcs_last_error() holds a
 *    one-line message for the calling thread. Nothing is ever printed unless a log callback is set.
 *  - Ownership: the caller owns every buffer it passes in and keeps it. Every fcs_image that fcs
 *    fills as a result has pixels allocated by fcs, released with fcs_image_free().
 *  - Images are interleaved rows (RGBRGB…), FCS_PIXEL_U8 (0…255) or FCS_PIXEL_F32 (0…1), with
 *    1 (grey), 3 (RGB) or 4 (RGBA) channels, any size (reflect-padded to multiples of 64 for the
 *    model; large inpainting jobs go through a context window). Alpha is passed through
 *    untouched. Results have the input's format and channel count.
 *  - Masks are one channel (only the first is read of more): pixels at or above half the range
 *    (U8 >= 128, F32 >= 0.5) are filled — diffusers' convention, the opposite of the paper's code.
 *  - A model is read-only once loaded: any number of threads may call fcs_inpaint &c. on one
 *    model at the same time (each call has its own working memory).
 *  - Parameters structs come from their _default() function; set only the fields you need, so
 *    that fields added later keep working. Each default is an FCS_DEFAULT_* macro below (the one
 *    place it is written: the _default() functions, the fcs command, the vips operations and the
 *    Python package all take it from there).
 *  - Limits: an image passed in has at most 2^28 pixels; a model samples at most 2048×2048
 *    pixels at once (super-resolution's output, layer extraction's image, inpainting's context
 *    window), else FCS_ERROR_INVALID_ARGUMENT names the limit. A request whose estimated working
 *    memory exceeds what the process may still use (MemAvailable, the cgroup's limit; the
 *    environment variable FCS_MEMORY_AVAILABLE, in bytes, overrides both) returns
 *    FCS_ERROR_OUT_OF_MEMORY with the estimate, before any of it is allocated.
 */
#ifndef FCS_H
#define FCS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FCS_VERSION_MAJOR 0
#define FCS_VERSION_MINOR 1
#define FCS_VERSION_PATCH 0

typedef enum fcs_status {
    FCS_OK = 0,
    FCS_CANCELLED = 1,                  /* the progress (or constraint) callback asked to stop */
    FCS_ERROR_INVALID_ARGUMENT = -1,
    FCS_ERROR_IO = -2,                  /* a file is missing or unreadable */
    FCS_ERROR_FORMAT = -3,              /* a file is not what it should be */
    FCS_ERROR_OUT_OF_MEMORY = -4,
    FCS_ERROR_INTERNAL = -5
} fcs_status;

typedef enum fcs_pixel_format {
    FCS_PIXEL_U8 = 0,                   /* uint8_t, 0 … 255 */
    FCS_PIXEL_F32 = 1                   /* float, 0 … 1 */
} fcs_pixel_format;

typedef struct fcs_image {
    int32_t width;
    int32_t height;
    int32_t channels;                   /* 1, 3 or 4 */
    fcs_pixel_format format;
    size_t stride;                      /* bytes from one row to the next; 0 = packed rows */
    void *data;
} fcs_image;

/* The library's version, "MAJOR.MINOR.PATCH"; static, never freed. */
const char *fcs_version(void);

/* The calling thread's last error message; "" when none; valid until this thread's next fcs call. */
const char *fcs_last_error(void);

typedef enum fcs_log_level {
    FCS_LOG_DEBUG = 0,
    FCS_LOG_INFO = 1,
    FCS_LOG_WARNING = 2,
    FCS_LOG_ERROR = 3
} fcs_log_level;

/* Receives fcs's log lines (model loading, sampling runs); may be called from any thread. */
typedef void (*fcs_log_callback)(fcs_log_level level, const char *text, void *user_data);

/* Sets the process-wide log callback; NULL (the default) keeps fcs silent. */
void fcs_set_log_callback(fcs_log_callback callback, void *user_data);

/* Threads each kernel runs on (default: FCS_NUM_THREADS or the number of cores). Process-wide;
 * set it while no sampling runs. A host that runs one fcs call per core (a vips worker pool)
 * wants 1. */
fcs_status fcs_set_num_threads(int32_t n_threads);
int32_t fcs_get_num_threads(void);

/* Frees the pixels of an image fcs filled, and zeroes it. NULL or an empty image is fine. */
void fcs_image_free(fcs_image *image);

/* ---- models ------------------------------------------------------------------------------ */

typedef struct fcs_model fcs_model;

#define FCS_MAX_LORAS 64                /* LoRA files one model may be loaded with */

typedef enum fcs_weight_type {
    FCS_WEIGHTS_F32 = 0,                /* fastest ("f32") */
    FCS_WEIGHTS_F16 = 1                 /* about 40 % less memory, a little slower ("f16") */
} fcs_weight_type;

typedef enum fcs_file_variant {
    FCS_VARIANT_AUTO = 0,               /* *.safetensors if present, else *.fp16.safetensors ("auto") */
    FCS_VARIANT_FP16 = 1,               /* *.fp16.safetensors ("fp16") */
    FCS_VARIANT_FP32 = 2                /* *.safetensors ("fp32") */
} fcs_file_variant;

typedef enum fcs_precision {
    FCS_PRECISION_AUTO = 0,             /* what fcs judges best for this CPU ("auto"): BF16 where it has
                                           AVX512_BF16, FP32 elsewhere */
    FCS_PRECISION_FP32 = 1,             /* float32 products ("fp32"), weights as weight_type says */
    FCS_PRECISION_BF16 = 2              /* bfloat16 products, float32 sums ("bf16"): about twice the
                                           speed on CPUs with AVX512_BF16 (slower without), half the
                                           weight memory; weight_type is then ignored */
} fcs_precision;

/* The precision's name as the CLI and the bindings write it ("auto", "fp32", "bf16"), a static
 * string; NULL for a value that is no fcs_precision. */
const char *fcs_precision_name(fcs_precision precision);

/* The precision named name (as fcs_precision_name writes it) in *out_precision;
 * FCS_ERROR_INVALID_ARGUMENT, with fcs_last_error naming the choices, for NULL or another name. */
fcs_status fcs_precision_from_name(const char *name, fcs_precision *out_precision);

/* The defaults of fcs_model_params (fcs_model_params_default). Enum-valued defaults are plain
 * integers, the value of the enum constant named beside them, so that every language binding
 * can read them (Swift imports no macro that names an enum constant). */
#define FCS_DEFAULT_WEIGHT_TYPE 0                   /* FCS_WEIGHTS_F32 */
#define FCS_DEFAULT_VARIANT 0                       /* FCS_VARIANT_AUTO */
#define FCS_DEFAULT_PRECISION 0                     /* FCS_PRECISION_AUTO */

typedef struct fcs_model_params {
    fcs_weight_type weight_type;        /* how weights are kept when computing in FP32: FCS_DEFAULT_WEIGHT_TYPE */
    fcs_file_variant variant;           /* which files of a diffusers folder to read: FCS_DEFAULT_VARIANT */
    const char *config_folder;          /* single-file checkpoints: a diffusers folder with any of
                                           unet/ vae/ text_encoder/ config.json, tokenizer/ and
                                           scheduler/scheduler_config.json; what it lacks (all, for
                                           NULL) is inferred from the file's tensors. SD 2.x files
                                           need the scheduler config (their weights do not say ε or v) */
    const char *transport_vae;          /* a diffusers AutoencoderTiny (TAESD) folder or hub name for
                                           super-resolution's VAE-Newton transport, run in fp32 (faster
                                           than bf16 at its 64 channels); NULL = the model's own VAE */
    const char *const *lora_paths;      /* LoRA .safetensors files (diffusers/PEFT or kohya names, LoRA
                                           and LoCon: LCM-LoRA, Hyper-SD, TCD, style LoRAs) merged into
                                           the UNet and text encoder weights at load, in order:
                                           W += scale * alpha / rank * up * down; every key must land on
                                           a module, or the load fails naming it. NULL = none */
    const float *lora_scales;           /* n_loras scales (diffusers' lora_scale, finite); NULL = all 1 */
    int32_t n_loras;                    /* entries in lora_paths and lora_scales: 0 … FCS_MAX_LORAS */
    fcs_precision precision;            /* the arithmetic of the model's networks (not the transport
                                           VAE's): FCS_DEFAULT_PRECISION */
} fcs_model_params;

fcs_model_params fcs_model_params_default(void);

/* Loads a diffusers folder, a single-file .safetensors checkpoint, or a model name already in
 * the Hugging Face hub cache ("runwayml/stable-diffusion-v1-5"). Pickle .ckpt files are refused.
 * params may be NULL for the defaults. On success *out_model is a new model. An SD model's text
 * encoder and VAE weights are read again from path when they are used (they are not held while
 * the UNet samples), so its files must stay in place until fcs_model_free. */
fcs_status fcs_model_load(const char *path, const fcs_model_params *params, fcs_model **out_model);

/* Releases a model; NULL is fine. No call may be using it. */
void fcs_model_free(fcs_model *model);

/* ---- sampling ---------------------------------------------------------------------------- */

/* Called with (step, total) = (outer steps done, outer steps in all) before every network
 * evaluation (each UNet forward, each VAE pass) and after every outer step, so the same step
 * repeats and the first call has step 0; layer extraction counts the steps of all its
 * inpaintings. Return non-zero to cancel: no further network evaluation starts, everything is
 * freed, the call returns FCS_CANCELLED and the model stays usable. Runs on the calling thread. */
typedef int (*fcs_progress_callback)(int32_t step, int32_t total, void *user_data);

typedef enum fcs_inpaint_method {
    FCS_INPAINT_CONSTRAINED = 0,        /* the paper's inexact-Newton correction ("constrained") */
    FCS_INPAINT_REPLACEMENT = 1         /* baseline for comparisons: overwrite the known region after
                                           each step (one UNet forward per step, no inner steps)
                                           ("replacement") */
} fcs_inpaint_method;

typedef enum fcs_sampler {
    FCS_SAMPLER_PAPER = 0,              /* the paper's DDIM-like outer step ("paper") */
    FCS_SAMPLER_DPMSOLVER_PP_2M = 1,    /* DPM-Solver++(2M) as diffusers' DPMSolverMultistepScheduler
                                           ("dpm++2m"): about 10 steps instead of 20 */
    FCS_SAMPLER_LCM = 2                 /* latent consistency models' multistep sampling, diffusers'
                                           LCMScheduler ("lcm"), for LCM checkpoints: 4–8 steps */
} fcs_sampler;

/* The sampler's name as the CLI and the bindings write it ("paper", "dpm++2m", "lcm"), a static
 * string; NULL for a value that is no fcs_sampler. */
const char *fcs_sampler_name(fcs_sampler sampler);

/* The sampler named name (as fcs_sampler_name writes it) in *out_sampler; FCS_ERROR_INVALID_ARGUMENT,
 * with fcs_last_error naming the choices, for NULL or another name. */
fcs_status fcs_sampler_from_name(const char *name, fcs_sampler *out_sampler);

/* The defaults of fcs_sample_params (fcs_sample_params_default) and of the tasks' own values
 * that a field's "task default" stands for. */
#define FCS_DEFAULT_SEED 0
#define FCS_DEFAULT_STEPS 20
#define FCS_DEFAULT_NEWTON_STEPS (-1)               /* the task's: */
#define FCS_DEFAULT_INPAINT_NEWTON_STEPS 5          /*   inpainting's K */
#define FCS_DEFAULT_SUPER_RESOLVE_NEWTON_STEPS 10   /*   super-resolution's K */
#define FCS_DEFAULT_INPAINT_LEARNING_RATE_FIRST 0.5f  /* inpainting's λ: linspace(first, last, K) */
#define FCS_DEFAULT_INPAINT_LEARNING_RATE_LAST 0.1f
#define FCS_DEFAULT_SUPER_RESOLVE_LEARNING_RATE 0.5f  /* super-resolution's λ, latent models */
#define FCS_DEFAULT_PIXEL_SUPER_RESOLVE_LEARNING_RATE 0.05f  /* super-resolution's λ, pixel-space models */
#define FCS_DEFAULT_FD_STEP 0.005f
#define FCS_DEFAULT_GUIDANCE_SCALE 0.0f
#define FCS_DEFAULT_OFFICIAL_TIMESTEPS 0
#define FCS_DEFAULT_PASTE_BACK 1
#define FCS_DEFAULT_SEAM_WIDTH 8
#define FCS_DEFAULT_CONTEXT_CROP_ABOVE 1024
#define FCS_DEFAULT_CONTEXT_SIZE 512
#define FCS_DEFAULT_METHOD 0                        /* FCS_INPAINT_CONSTRAINED */
#define FCS_DEFAULT_SAMPLER 0                       /* FCS_SAMPLER_PAPER */

typedef struct fcs_sample_params {
    uint64_t seed;                      /* FCS_DEFAULT_SEED */
    int32_t steps;                      /* outer denoising steps (the paper's timesteps round(1000 - i*1000/steps)):
                                           FCS_DEFAULT_STEPS */
    int32_t newton_steps;               /* K inner steps: -1 = the task's default, FCS_DEFAULT_INPAINT_NEWTON_STEPS or
                                           FCS_DEFAULT_SUPER_RESOLVE_NEWTON_STEPS; FCS_DEFAULT_NEWTON_STEPS */
    const float *learning_rates;        /* λ_1 … λ_n (the last repeats); NULL = the task's default: inpaint
                                           linspace(FCS_DEFAULT_INPAINT_LEARNING_RATE_FIRST,
                                           FCS_DEFAULT_INPAINT_LEARNING_RATE_LAST, K), SR
                                           FCS_DEFAULT_SUPER_RESOLVE_LEARNING_RATE (pixel-space models
                                           FCS_DEFAULT_PIXEL_SUPER_RESOLVE_LEARNING_RATE) */
    int32_t n_learning_rates;
    float fd_step;                      /* h of the Jacobian finite difference: FCS_DEFAULT_FD_STEP */
    const char *prompt;                 /* NULL or "" (no caption, as the paper): NULL */
    float guidance_scale;               /* w; classifier-free guidance is on only when > 1: FCS_DEFAULT_GUIDANCE_SCALE */
    int32_t official_timesteps;         /* 1 = the official notebooks' UNet timestep (t, not t-1):
                                           FCS_DEFAULT_OFFICIAL_TIMESTEPS */
    int32_t paste_back;                 /* inpaint: keep known pixels exactly, soft seam: FCS_DEFAULT_PASTE_BACK */
    int32_t seam_width;                 /* inpaint: seam width in pixels: FCS_DEFAULT_SEAM_WIDTH */
    int32_t context_crop_above;         /* inpaint: images with a longer side are sampled through a
                                           context window around the hole (0 = never): FCS_DEFAULT_CONTEXT_CROP_ABOVE */
    int32_t context_size;               /* inpaint: side the window is shrunk to, at most: FCS_DEFAULT_CONTEXT_SIZE */
    fcs_inpaint_method method;          /* inpaint: FCS_DEFAULT_METHOD */
    const char *noise_path;             /* inpaint, super-resolve, deblur, colorize: safetensors with x_T and z_0 … z_{steps-1}
                                           to use instead of seeded noise (compare with other
                                           implementations); NULL */
    fcs_progress_callback progress;     /* NULL */
    void *user_data;
    fcs_sampler sampler;                /* the outer step: FCS_DEFAULT_SAMPLER; the others follow the
                                           model's scheduler/scheduler_config.json (β schedule,
                                           prediction type, timestep spacing) */
} fcs_sample_params;

fcs_sample_params fcs_sample_params_default(void);

/* Fills the masked pixels of image (see the mask convention above). out gets the image's size,
 * format and channels. params may be NULL for the defaults. */
fcs_status fcs_inpaint(fcs_model *model, const fcs_image *image, const fcs_image *mask,
                       const fcs_sample_params *params, fcs_image *out);

/* Upscales image by scale (2, 4 or 8). out gets scale × the size, the image's format and channels
 * (alpha upscaled bicubically). */
fcs_status fcs_super_resolve(fcs_model *model, const fcs_image *image, int32_t scale,
                             const fcs_sample_params *params, fcs_image *out);

#define FCS_DEFAULT_LAYER_STEPS 10
#define FCS_DEFAULT_ITERATIONS 3
#define FCS_DEFAULT_SAMPLES_PER_LAYER 3
#define FCS_DEFAULT_RESTARTS 2
#define FCS_DEFAULT_BLOCK_SIZE 64
/* ---- any constraint ---------------------------------------------------------------------- */

/* A constraint written by the caller, called before each inner step with estimate = D(x̂0), the
 * current estimate of the clean image (F32, 3 channels, 0…1 but not clamped, the request's size).
 * It writes the change the estimate should make into change (F32, 3 channels, the same size,
 * zero-filled; only its direction matters: fcs normalises it) and may write a per-pixel weight
 * into weight (F32, 1 channel, filled with 1; the change is multiplied by it, 0 = unconstrained).
 * fcs carries the change to latent space (the VAE-Newton transport of super-resolution). The
 * buffers are fcs's and valid only during the call. Return 0 to go on; non-zero cancels: the
 * request returns FCS_CANCELLED with fcs_last_error naming the value. Runs on the calling thread. */
typedef int (*fcs_constraint_callback)(const fcs_image *estimate, fcs_image *change, fcs_image *weight, void *user_data);

typedef enum fcs_constraint_kind {
    FCS_CONSTRAINT_GAUSSIAN_BLUR = 0,   /* deblurring: image = a Gaussian blur of the result (sigma) */
    FCS_CONSTRAINT_KERNEL_BLUR = 1,     /* deblurring: image = kernel ∗ the result */
    FCS_CONSTRAINT_LUMINANCE = 2,       /* colourisation: image = the result's Rec. 601 luminance,
                                           kept exactly */
    FCS_CONSTRAINT_CALLBACK = 3         /* the caller's callback */
} fcs_constraint_kind;

#define FCS_DEFAULT_CONSTRAINT_KIND 0               /* FCS_CONSTRAINT_GAUSSIAN_BLUR */
#define FCS_DEFAULT_SIGMA 1.0f

typedef struct fcs_constraint {
    fcs_constraint_kind kind;           /* FCS_DEFAULT_CONSTRAINT_KIND */
    float sigma;                        /* Gaussian blur: σ in pixels, (0, 30], truncated at 4σ: FCS_DEFAULT_SIGMA */
    const fcs_image *kernel;            /* kernel blur: the point-spread function, its first channel;
                                           odd sides up to 255, weights ≥ 0, scaled to sum 1; NULL */
    fcs_constraint_callback callback;   /* callback: NULL */
    void *callback_user_data;
    int32_t width, height;              /* callback with image NULL: the size to sample: 0, 0 */
} fcs_constraint;

fcs_constraint fcs_constraint_default(void);

/* Samples an image that satisfies constraint. Blur and luminance read their measurement from
 * image; a callback takes only the size and format from image, or, with image NULL, constraint's
 * width × height (out then F32 RGB). out gets the image's size, format and channels (3 for a
 * one-channel image under FCS_CONSTRAINT_LUMINANCE; alpha is kept). newton_steps and
 * learning_rates default as super-resolution's (FCS_DEFAULT_SUPER_RESOLVE_*). params may be NULL for the defaults. */
fcs_status fcs_solve(fcs_model *model, const fcs_image *image, const fcs_constraint *constraint,
                     const fcs_sample_params *params, fcs_image *out);

typedef struct fcs_layer_params {
    fcs_sample_params sample;           /* fcs_sample_params_default() with steps FCS_DEFAULT_LAYER_STEPS:
                                           many samples are drawn */
    int32_t iterations;                 /* EM iterations: FCS_DEFAULT_ITERATIONS */
    int32_t samples_per_layer;          /* constrained samples per layer and iteration: FCS_DEFAULT_SAMPLES_PER_LAYER */
    int32_t restarts;                   /* random starts, the best kept: FCS_DEFAULT_RESTARTS */
    int32_t block_size;                 /* side of the random initial mask's blocks, px: FCS_DEFAULT_BLOCK_SIZE */
    const fcs_image *hint;              /* optional one-channel mask, set = layer 1, replacing the
                                           random start; NULL */
} fcs_layer_params;

fcs_layer_params fcs_layer_params_default(void);

/* Splits image into two layers and the soft mask m of layer 1, image ≈ m·layer1 + (1−m)·layer2
 * (fcs's reconstruction of the v1 paper's EM procedure). layer1 and layer2 get the image's size,
 * format and channels; mask gets one channel of the image's format. */
fcs_status fcs_extract_layers(fcs_model *model, const fcs_image *image, const fcs_layer_params *params,
                              fcs_image *layer1, fcs_image *layer2, fcs_image *mask);

#ifdef __cplusplus
}
#endif

#endif /* FCS_H */
