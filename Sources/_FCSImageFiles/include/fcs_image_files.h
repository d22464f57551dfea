/* Image files for the fcs command, through libvips: any format vips reads in, packed float 0…1
 * pixels out (1, 3 or 4 channels), and back to a file in the source image's format. */
#ifndef FCS_IMAGE_FILES_H
#define FCS_IMAGE_FILES_H

#include <stdint.h>

/* Starts libvips once; 0 on success. */
int fcs_image_files_init(const char *program);

/* The file's pixels (free with fcs_image_file_free_pixels) or NULL (see fcs_image_file_error).
 * *source gets a handle on the decoded image, released with fcs_image_file_release, which
 * fcs_image_file_write uses to give results the same format. */
float *fcs_image_file_read(const char *path, int32_t *width, int32_t *height, int32_t *channels, void **source);

/* Writes pixels in source's format to path (the suffix picks the file type); 0 on success. */
int fcs_image_file_write(const char *path, const float *pixels, int32_t width, int32_t height, int32_t channels,
                         void *source);

void fcs_image_file_free_pixels(float *pixels);
void fcs_image_file_release(void *source);

/* The last failure's message (libvips's error buffer, one line), cleared by the call. */
const char *fcs_image_file_error(void);

#endif
