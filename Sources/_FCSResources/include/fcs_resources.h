/* Data files compiled into libfcs, so it needs no data directory. Implementation detail of
 * FCSModels: no stable API. */
#ifndef FCS_RESOURCES_H
#define FCS_RESOURCES_H

#include <stddef.h>

/* OpenAI CLIP's bpe_simple_vocab_16e6.txt.gz (gzip bytes): SD 1.x's tokenizer vocabulary, for
 * single-file checkpoints, which carry none. */
extern const unsigned char fcs_clip_bpe_vocabulary_gz[];
extern const size_t fcs_clip_bpe_vocabulary_gz_size;

/* Accessors for Swift, which does not import arrays of unknown size. */
static inline const unsigned char *fcs_clip_bpe_vocabulary(void) { return fcs_clip_bpe_vocabulary_gz; }
static inline size_t fcs_clip_bpe_vocabulary_size(void) { return fcs_clip_bpe_vocabulary_gz_size; }

/* fcs's demo model (Sources/_FCSResources/demo-model/MODEL_CARD.md): the UNet2DModel's
 * config.json and its float16 safetensors weights. */
extern const unsigned char fcs_demo_unet_config_json[];
extern const size_t fcs_demo_unet_config_json_size;
extern const unsigned char fcs_demo_unet_fp16_safetensors[];
extern const size_t fcs_demo_unet_fp16_safetensors_size;

static inline const unsigned char *fcs_demo_unet_config(void) { return fcs_demo_unet_config_json; }
static inline size_t fcs_demo_unet_config_size(void) { return fcs_demo_unet_config_json_size; }
static inline const unsigned char *fcs_demo_unet_weights(void) { return fcs_demo_unet_fp16_safetensors; }
static inline size_t fcs_demo_unet_weights_size(void) { return fcs_demo_unet_fp16_safetensors_size; }

#endif
