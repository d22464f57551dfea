/* Image files for the fcs command, through libvips: any format vips reads in, packed float 0…1
 * pixels out (1, 3 or 4 channels), and back to a file in the source image's format. */
#ifndef FCS_IMAGE_FILES_H
#define FCS_IMAGE_FILES_H

#include <stdint.h>

/* Starts libvips once; 0 on success. */
int fcs_image_files_init(const char *program);

/* The most pixels an image file may have (2^28, 4 GiB as 4-channel floats). */
#define FCS_IMAGE_FILE_MAX_PIXELS (1 << 28)

/* The file's pixels (free with fcs_image_file_free_pixels) or NULL (see fcs_image_file_error).
 * *source gets a handle on the decoded image, released with fcs_image_file_release, which
 * fcs_image_file_write_temporary uses to give results the same format. */
float *fcs_image_file_read(const char *path, int32_t *width, int32_t *height, int32_t *channels, void **source);

/* Results are written so that no half-written file ever has the result's name: to a temporary
 * file in the destination's folder, then renamed. path is a file name whose suffix picks the file
 * type, optionally with libvips save options ("out.jpg[Q=90]"). The int results are 0 on success,
 * else see fcs_image_file_error. */

/* Whether path can be written, checked before the work that makes its pixels: libvips has a
 * saver for its suffix, no folder is in the way, and its folder exists and is writable. */
int fcs_image_file_check_destination(const char *path);

#define FCS_IMAGE_FILE_NAME_MAX 4096

/* Writes pixels in source's format to a new file .fcs-XXXXXX-NAME next to path, whose name goes
 * to temporary; on failure nothing is left behind. */
int fcs_image_file_write_temporary(const char *path, const float *pixels, int32_t width, int32_t height,
                                   int32_t channels, void *source, char temporary[FCS_IMAGE_FILE_NAME_MAX]);

/* Renames temporary to path (without its options). */
int fcs_image_file_commit(const char *temporary, const char *path);

/* Removes the file at path (without its options): undoes a commit. */
void fcs_image_file_withdraw(const char *path);

void fcs_image_file_free_pixels(float *pixels);
void fcs_image_file_release(void *source);

/* The last failure's message (libvips's error buffer, one line), cleared by the call. */
const char *fcs_image_file_error(void);

#endif
